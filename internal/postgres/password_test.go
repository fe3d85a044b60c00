package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// TestSetPassword: a new password hash ends the account's sessions but the
// one kept, sets or clears the temporary flag, and writes its audit row in
// the same transaction; a disabled account or a malformed id is not found
// (issue 20, item 8).
func TestSetPassword(t *testing.T) {
	tb := setup(t)
	id, err := tb.db.CreateAccount(tb.ctx, postgres.Account{Email: "Lea@CD.fr", Name: "Léa", Role: domain.RoleDepartment, PasswordHash: "old", MustChangePassword: true})
	require.NoError(t, err)
	a, err := tb.db.AccountByID(tb.ctx, id)
	require.NoError(t, err)
	require.True(t, a.MustChangePassword, "created flagged (the first administrator)")
	expires := time.Now().Add(time.Hour)
	for _, s := range []string{"kept", "other", "third"} {
		require.NoError(t, tb.db.CreateSession(tb.ctx, id, []byte(s), "csrf-"+s, expires))
	}
	acc, _, err := tb.db.SessionAccount(tb.ctx, []byte("kept"))
	require.NoError(t, err)
	require.True(t, acc.MustChangePassword, "a session says the password must change")

	actor := domain.Actor{ID: "account:" + id, Role: domain.RoleDepartment}
	ended, err := tb.db.SetPassword(tb.ctx, id, "new", false, []byte("kept"), postgres.AuditEntry{Actor: actor, Action: "password_change", RecordType: "account", RecordID: id})
	require.NoError(t, err)
	require.EqualValues(t, 2, ended)
	acc, _, err = tb.db.SessionAccount(tb.ctx, []byte("kept"))
	require.NoError(t, err, "the session in use stays")
	require.False(t, acc.MustChangePassword, "the holder chose it: the flag is cleared")
	_, _, err = tb.db.SessionAccount(tb.ctx, []byte("other"))
	require.Equal(t, domain.EUNAUTHORIZED, domain.ErrorCode(err), "the other sessions ended")
	a, err = tb.db.AccountByEmail(tb.ctx, "lea@cd.fr")
	require.NoError(t, err)
	require.Equal(t, "new", a.PasswordHash)
	rows, err := tb.db.SearchAudit(tb.ctx, postgres.AuditFilter{RecordID: id, Action: "password_change", Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Contains(t, rows[0].Detail, `"sessions_ended": 2`)
	require.NotContains(t, rows[0].Detail, "new", "never the hash")

	// A reset: every session ends, the flag is set.
	ended, err = tb.db.SetPassword(tb.ctx, id, "temp", true, nil, postgres.AuditEntry{Actor: domain.System, Action: "password_reset", RecordType: "account", RecordID: id})
	require.NoError(t, err)
	require.EqualValues(t, 1, ended)
	list, err := tb.db.ListAccounts(tb.ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, list[0].MustChangePassword)

	_, err = tb.db.SetPassword(tb.ctx, "pas-un-uuid", "x", true, nil, postgres.AuditEntry{Actor: domain.System, Action: "password_reset", RecordType: "account"})
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err), "a malformed id is not found, not an internal error")
	_, err = tb.db.AccountByID(tb.ctx, "pas-un-uuid")
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err))
	require.NoError(t, tb.db.DisableAccount(tb.ctx, id))
	_, err = tb.db.SetPassword(tb.ctx, id, "x", true, nil, postgres.AuditEntry{Actor: domain.System, Action: "password_reset", RecordType: "account", RecordID: id})
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err), "a disabled account keeps its password")
	rows, err = tb.db.SearchAudit(tb.ctx, postgres.AuditFilter{RecordID: id, Action: "password_reset", Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 1, "no audit row without the write")
}
