package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgx.Connect(ctx, "postgres://x@"+addr+"/x?sslmode=disable")
	require.Error(t, err)
	require.True(t, Unreachable(fmt.Errorf("authenticate: %w", err)), "%v", err)
	require.True(t, Unreachable(&pgconn.PgError{Code: "57P01"}), "admin shutdown")
	require.False(t, Unreachable(&pgconn.PgError{Code: "23505"}), "a unique violation is a bug or a conflict")
	require.False(t, Unreachable(errors.New("x")))
	require.False(t, Unreachable(nil))
}

func TestAsUnavailable(t *testing.T) {
	t.Parallel()
	down := fmt.Errorf("list tasks: %w", &pgconn.PgError{Code: "57P01"})
	err := AsUnavailable(down)
	require.Equal(t, domain.EUNAVAILABLE, domain.ErrorCode(err), "the web pages and the API answer 503")
	require.Contains(t, domain.ErrorMessage(err), "réessayez")
	require.ErrorIs(t, err, down.(interface{ Unwrap() error }).Unwrap(), "the cause stays for the log")
	bug := &pgconn.PgError{Code: "42P01"}
	require.Equal(t, error(bug), AsUnavailable(bug))
	conflict := domain.Errorf(domain.ECONFLICT, "non")
	require.Equal(t, error(conflict), AsUnavailable(conflict))
}
