package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// TestFirstAdminPasswordRotates: the first administrator's password,
// printed at the first start, must be changed at the first login; lost, it
// is reset by `parcours account reset-password`, which needs no password
// (issue 20, item 8).
func TestFirstAdminPasswordRotates(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewURL(t)
	db, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer db.Close()
	svc := &app.Service{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	email, printed, created, err := svc.EnsureFirstAdmin(ctx)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, app.FirstAdminEmail, email)
	token, err := svc.Login(ctx, email, printed, "127.0.0.1")
	require.NoError(t, err)
	_, _, mustChange, err := svc.Session(ctx, token)
	require.NoError(t, err)
	require.True(t, mustChange, "the printed password is a temporary one")

	var out, stderr bytes.Buffer
	env := map[string]string{"DATABASE_URL": url, "PARCOURS_DATA_DIR": t.TempDir(), "PARCOURS_LOG_LEVEL": "warn"}
	m := &Main{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &stderr}
	require.NoError(t, m.Run(ctx, []string{"account", "reset-password", "--email", app.FirstAdminEmail}), stderr.String())
	temporary := strings.TrimSpace(out.String())
	require.Len(t, temporary, 16, "only the password on the standard output")
	require.Contains(t, stderr.String(), "Mot de passe de admin@parcours.local réinitialisé ; ses sessions sont fermées.")

	_, _, _, err = svc.Session(ctx, token)
	require.Equal(t, domain.EUNAUTHORIZED, domain.ErrorCode(err), "the session ended")
	_, err = svc.Login(ctx, email, printed, "127.0.0.1")
	require.Equal(t, domain.EUNAUTHORIZED, domain.ErrorCode(err), "the lost password no longer opens")
	token, err = svc.Login(ctx, email, temporary, "127.0.0.1")
	require.NoError(t, err)
	a, _, mustChange, err := svc.Session(ctx, token)
	require.NoError(t, err)
	require.True(t, mustChange)
	require.NoError(t, svc.ChangePassword(ctx, a, token, temporary, "le mot de passe de l'administrateur", "le mot de passe de l'administrateur", "127.0.0.1"))
	_, _, mustChange, err = svc.Session(ctx, token)
	require.NoError(t, err)
	require.False(t, mustChange)

	id, _ := strings.CutPrefix(a.ID, "account:")
	rows, err := db.SearchAudit(ctx, postgres.AuditFilter{RecordID: id, Action: "password_reset", Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.True(t, strings.HasPrefix(rows[0].Actor, "cli:"), rows[0].Actor)

	err = m.Run(ctx, []string{"account", "reset-password", "--email", "personne@cd.fr"})
	require.EqualError(t, err, "--email : Aucun compte actif n'a l'adresse personne@cd.fr.")
	err = m.Run(ctx, []string{"account", "reset-password"})
	require.ErrorContains(t, err, "parcours account reset-password --email ADRESSE")
}
