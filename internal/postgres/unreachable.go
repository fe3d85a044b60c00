package postgres

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Unreachable reports whether err says that PostgreSQL cannot be reached
// or is shutting down, so that the same request may succeed later (503),
// rather than that a query was wrong (500).
func Unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var ne *net.OpError
	switch {
	case err == nil:
		return false
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P01-57P03: shutdown, crash, starting up.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	return pgconn.SafeToRetry(err)
}

// AsUnavailable turns an internal error that says PostgreSQL cannot be
// reached into an EUNAVAILABLE one (503, "try again"); other errors are
// returned as they are.
func AsUnavailable(err error) error {
	if domain.ErrorCode(err) == domain.EINTERNAL && Unreachable(err) {
		return fmt.Errorf("%w: %w", domain.Errorf(domain.EUNAVAILABLE, "La base de données ne répond pas pour l'instant : réessayez dans un instant."), err)
	}
	return err
}
