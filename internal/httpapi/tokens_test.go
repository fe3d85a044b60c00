package httpapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestTokensCarryAScopeAnExpiryAndCanBeRevoked (issue 20, item 4): a
// supervisor token saw every structure by default, no token expired, none
// could be listed or revoked.
func TestTokensCarryAScopeAnExpiryAndCanBeRevoked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := fixture.svc
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)

	_, err := svc.CreateToken(ctx, "chef", domain.RoleSupervisor, "")
	require.Equal(t, "structure", domain.ErrorField(err), "a supervisor token names its structure, or says it sees all")

	// Two structures, a référent in each, a parcours oriented to each.
	var pids [2]string
	for i, name := range []string{"Nord " + suffix, "Sud " + suffix} {
		st := post(t, "department", "/api/v1/structures", map[string]any{"name": name, "kind": "ccas"})
		require.Equal(t, 201, st.status, st.raw)
		ref := post(t, "department", "/api/v1/referents", map[string]any{"name": "Agent " + name, "email": fmt.Sprintf("agent%d-%s@cd.fr", i, suffix), "structure_id": st.body["id"]})
		require.Equal(t, 201, ref.status, ref.raw)
		r := call(t, "department", "POST", "/api/v1/parcours", intakeBody(beneficiary(t), today().AddDays(-3).String()))
		require.Equal(t, 201, r.status, r.raw)
		pids[i] = r.body["id"].(string)
		o := call(t, "department", "POST", "/api/v1/parcours/"+pids[i]+"/orientation", map[string]any{
			"track": "social", "organism": name, "referent_id": ref.body["id"], "decided_on": today().String()})
		require.Equal(t, 200, o.status, o.raw)
	}
	_, err = svc.CreateTokenWith(ctx, app.NewToken{Name: "chef", Role: domain.RoleSupervisor, Structure: "Ouest " + suffix})
	require.Equal(t, "structure", domain.ErrorField(err), "an unknown structure")
	// Written another way, the structure is the record's.
	nord, err := svc.CreateTokenWith(ctx, app.NewToken{Name: "chef nord", Role: domain.RoleSupervisor, Structure: " NORD " + strings.ToUpper(suffix)})
	require.NoError(t, err)
	require.Equal(t, 200, call(t, nord, "GET", "/api/v1/parcours/"+pids[0], nil).status, "its structure's parcours")
	require.Equal(t, 404, call(t, nord, "GET", "/api/v1/parcours/"+pids[1], nil).status, "not another structure's")

	// Listed, with its last use; then revoked.
	admin := domain.Actor{ID: "test", Role: domain.RoleAdmin}
	tokens, err := svc.Tokens(ctx, admin)
	require.NoError(t, err)
	var id int64
	for _, tk := range tokens {
		if tk.Name == "chef nord" && tk.Structure == "Nord "+suffix {
			id = tk.ID
			require.NotNil(t, tk.LastUsedAt, "its last use is noted")
		}
	}
	require.NotZero(t, id)
	_, err = svc.Tokens(ctx, domain.Actor{ID: "x", Role: domain.RoleDepartment})
	require.Equal(t, domain.EFORBIDDEN, domain.ErrorCode(err))
	require.NoError(t, svc.RevokeToken(ctx, admin, id))
	require.Equal(t, 401, call(t, nord, "GET", "/api/v1/parcours/"+pids[0], nil).status, "revoked: no access")
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCode(svc.RevokeToken(ctx, admin, id)), "revoked once")

	// An expiry: valid before, refused from its instant.
	soon, err := svc.CreateTokenWith(ctx, app.NewToken{Name: "temporaire " + suffix, Role: domain.RoleDepartment, ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 200, call(t, soon, "GET", "/api/v1/parcours/"+pids[0], nil).status)
	_, err = fixture.db.Pool.Exec(ctx, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = $1`, "temporaire "+suffix)
	require.NoError(t, err)
	r := call(t, soon, "GET", "/api/v1/parcours/"+pids[0], nil)
	require.Equal(t, 401, r.status)
	require.True(t, strings.Contains(r.raw, "expiré"), r.raw)
}
