package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/httpapi"
)

// TestRecordActionIdempotencyKey: a command sent again with the same
// Idempotency-Key (a client retrying) is applied once and answered as the
// first time; the key is the caller's own (another caller's same key is
// another command); a malformed key is refused.
func TestRecordActionIdempotencyKey(t *testing.T) {
	pid := newOriented(t, today().AddDays(-20), "social", "ref-1")
	base := "/api/v1/parcours/" + pid
	action := map[string]any{"name": "Atelier CV", "kind": "employment_support", "structure": "Tremplin",
		"starts_on": today().AddDays(-5).String(), "planned_end_on": today().AddMonths(2).String()}
	key := http.Header{httpapi.IdempotencyHeader: {uuid.NewString()}}

	// The action's name and structure are texts, kept in PostgreSQL.
	notes := func() (n int) {
		require.NoError(t, fixture.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notes WHERE parcours_id = $1`, pid).Scan(&n))
		return n
	}
	before := notes()

	first := callWith(t, "referent:ref-1", "POST", base+"/actions", action, key)
	require.Equal(t, 201, first.status, first.raw)
	require.Len(t, items(first, "actions"), 1)
	saved := notes()
	require.Greater(t, saved, before)
	retry := callWith(t, "referent:ref-1", "POST", base+"/actions", action, key)
	require.Equal(t, 201, retry.status, retry.raw)
	require.Len(t, items(retry, "actions"), 1, "the retry created no second action")
	require.Equal(t, saved, notes(), "nor saved its texts again")
	require.Equal(t, items(first, "actions"), items(retry, "actions"), "the same answer")

	other := callWith(t, "department", "POST", base+"/actions", action, key)
	require.Equal(t, 201, other.status, other.raw)
	require.Len(t, items(other, "actions"), 2, "another caller's key is its own")

	// Without a key, each request is a new command.
	again := post(t, "referent:ref-1", base+"/actions", action)
	require.Equal(t, 201, again.status, again.raw)
	require.Len(t, items(again, "actions"), 3)

	// The same key on another command of the same caller is another update.
	outcome := map[string]any{"ended_on": today().String(), "category": "dynamique_de_parcours", "detail": "skills_assessment"}
	r := callWith(t, "referent:ref-1", "POST", base+"/actions/1/outcome", outcome, key)
	require.Equal(t, 200, r.status, r.raw)

	for _, bad := range [][]string{{"deux mots"}, {""}, {"a", "b"}, {strings.Repeat("a", 129)}} {
		r := callWith(t, "referent:ref-1", "POST", base+"/actions", action, http.Header{httpapi.IdempotencyHeader: bad})
		require.Equal(t, 400, r.status, "%q: %s", bad, r.raw)
		require.Contains(t, r.raw, "Idempotency-Key")
	}
}
