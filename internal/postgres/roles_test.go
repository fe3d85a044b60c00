package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// TestServiceRoleCannotAlterTheAuditLog connects as the service's role and
// tries every way around the audit log's triggers that a superuser or the
// owner has (issue 20, item 5): each is refused, while the service's own
// work (insert, read, the purge of old rows) goes on.
func TestServiceRoleCannotAlterTheAuditLog(t *testing.T) {
	ctx := context.Background()
	ownerURL := pgtest.NewURL(t)
	owner, err := postgres.Open(ctx, ownerURL)
	require.NoError(t, err)
	defer owner.Close()
	role := fmt.Sprintf("parcours_service_%d", time.Now().UnixNano())
	require.NoError(t, owner.EnsureLoginRole(ctx, role, "secret d'essai"))
	require.NoError(t, owner.EnsureLoginRole(ctx, role, "autre secret"), "twice: the password changes")
	t.Cleanup(func() {
		_, _ = owner.Pool.Exec(ctx, `DROP OWNED BY `+role)
		_, _ = owner.Pool.Exec(ctx, `DROP ROLE `+role)
	})
	require.NoError(t, owner.GrantService(ctx, role))
	require.NoError(t, owner.GrantService(ctx, role), "idempotent")
	_, err = owner.Pool.Exec(ctx, `INSERT INTO audit_log (at, actor, role, action, record_type) VALUES
		(now() - interval '2 years', 'token:1', 'department', 'read', 'old')`)
	require.NoError(t, err)

	svcURL, err := postgres.WithRole(ownerURL, role, "autre secret")
	require.NoError(t, err)
	svc, err := postgres.Open(ctx, svcURL)
	require.NoError(t, err)
	defer svc.Close()

	actor := domain.Actor{ID: "token:1", Role: domain.RoleDepartment}
	require.NoError(t, svc.Audit(ctx, postgres.AuditEntry{Actor: actor, Action: "read", RecordType: "parcours", RecordID: "x"}))
	var n int
	require.NoError(t, svc.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n))
	require.Equal(t, 2, n)

	for _, attack := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`SET session_replication_role = replica`,
		`ALTER TABLE audit_log DISABLE TRIGGER ALL`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`,
		`DROP TRIGGER audit_log_no_update ON audit_log`,
		`CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`,
		`DROP TABLE audit_log`,
		`ALTER ROLE ` + role + ` SUPERUSER`,
		`DELETE FROM schema_migrations`,
	} {
		_, err := svc.Pool.Exec(ctx, attack)
		require.Error(t, err, "refused to the service's role: %s", attack)
	}
	// One transaction: the setting the trigger reads cannot widen anything
	// since the role may not delete at all.
	_, err = svc.Pool.Exec(ctx, `BEGIN; SELECT set_config('parcours.audit_retention', '1 second', true); DELETE FROM audit_log; COMMIT`)
	require.Error(t, err)

	purged, err := svc.PurgeAudit(ctx, time.Hour)
	require.NoError(t, err, "the purge goes through its function")
	require.Equal(t, int64(1), purged, "only the row older than 6 months")
	require.NoError(t, svc.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n))
	require.Equal(t, 1, n)

	// The service's ordinary work: the other tables.
	_, err = svc.Pool.Exec(ctx, `INSERT INTO beneficiaries (id, external_id, last_name, first_name, birth_date)
		VALUES (gen_random_uuid(), 'ROLE-1', 'Essai', 'Rôle', '1990-01-01')`)
	require.NoError(t, err)
	_, err = svc.Pool.Exec(ctx, `UPDATE beneficiaries SET first_name = 'Autre' WHERE external_id = 'ROLE-1'`)
	require.NoError(t, err)
}
