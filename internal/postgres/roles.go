package postgres

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Roles (issue 20, item 5): the migrations run as the owner of the tables;
// the service connects as another role, neither owner nor superuser, so that
// nothing it runs can bypass the audit log's triggers (DISABLE TRIGGER and
// session_replication_role need the owner or a superuser) nor update,
// delete or truncate its rows.

// EnsureLoginRole creates the login role name with password, or sets its
// password. Run as a role with CREATEROLE (the local cluster's superuser).
func (db *DB) EnsureLoginRole(ctx context.Context, name, password string) error {
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("rôle %s : %w", name, err)
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	// Utility statements take no parameters: the password is quoted here.
	_, err := db.Pool.Exec(ctx, fmt.Sprintf(`%s ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s`,
		verb, pgx.Identifier{name}.Sanitize(), quoteLiteral(password)))
	if err != nil {
		return fmt.Errorf("rôle %s : %w", name, err)
	}
	return nil
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// GrantService gives role what the service needs on the tables the
// migrations made, and nothing more on the audit log than INSERT and
// SELECT. Run as the owner after every migration: idempotent.
func (db *DB) GrantService(ctx context.Context, role string) error {
	r := pgx.Identifier{role}.Sanitize()
	var database string
	if err := db.Pool.QueryRow(ctx, `SELECT current_database()`).Scan(&database); err != nil {
		return err
	}
	for _, stmt := range []string{
		`GRANT CONNECT ON DATABASE ` + pgx.Identifier{database}.Sanitize() + ` TO ` + r,
		`GRANT USAGE ON SCHEMA public TO ` + r,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + r,
		`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM ` + r,
		`REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM ` + r,
		`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ` + r,
		`GRANT EXECUTE ON FUNCTION purge_audit_log(interval) TO ` + r,
	} {
		if _, err := db.Pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("droits du rôle %s : %w", role, err)
		}
	}
	return nil
}

// WithRole is url with another user and password.
func WithRole(rawURL, user, password string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	u.User = url.UserPassword(user, password)
	return u.String(), nil
}

// RoleOf is the user an URL connects as.
func RoleOf(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil || u.User.Username() == "" {
		return "", fmt.Errorf("l'URL de la base ne nomme pas d'utilisateur")
	}
	return u.User.Username(), nil
}
