package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStructuresAndReferentsOverHTTP(t *testing.T) {
	suffix := beneficiary(t)
	name := "CCAS de Honfleur " + suffix
	r := post(t, "department", "/api/v1/structures", map[string]any{"name": name, "kind": "ccas", "address": "2 quai Sainte-Catherine"})
	require.Equal(t, 201, r.status, r.raw)
	sid := r.body["id"].(string)
	require.Equal(t, "/api/v1/structures/"+sid, "/api/v1/structures/"+sid)
	again := post(t, "department", "/api/v1/structures", map[string]any{"name": strings.ToUpper(name), "kind": "ccas"})
	require.Equal(t, 409, again.status, again.raw)
	require.Contains(t, again.raw, "Une structure s'appelle déjà")
	bad := post(t, "department", "/api/v1/structures", map[string]any{"name": "X " + suffix, "kind": "mairie"})
	require.Equal(t, "kind", bad.errField())
	require.Equal(t, 403, post(t, "referent:ref-1", "/api/v1/structures", map[string]any{"name": "Y " + suffix, "kind": "ccas"}).status)
	require.Equal(t, 403, post(t, "supervisor", "/api/v1/structures", map[string]any{"name": "Y " + suffix, "kind": "ccas"}).status)
	require.Equal(t, "id", post(t, "department", "/api/v1/structures", map[string]any{"id": "str-mine", "name": "Z " + suffix, "kind": "ccas"}).errField(),
		"ids are the service's")

	// Référents: opaque ids, pages, search, get, update, deactivate.
	var ids []string
	for i := range 5 {
		r := post(t, "department", "/api/v1/referents", map[string]any{"name": fmt.Sprintf("Agent %d %s", i, suffix),
			"email": fmt.Sprintf("agent%d.%s@honfleur.fr", i, strings.ToLower(suffix)), "structure_id": sid})
		require.Equal(t, 201, r.status, r.raw)
		id := r.body["id"].(string)
		require.Regexp(t, `^ref-[a-z2-7]{13}$`, id)
		require.Equal(t, name, r.body["structure_name"])
		ids = append(ids, id)
	}
	require.Equal(t, "structure_id", post(t, "department", "/api/v1/referents", map[string]any{"name": "Sans structure"}).errField())
	require.Equal(t, "structure_id", post(t, "department", "/api/v1/referents", map[string]any{"name": "N", "structure_id": "str-ghost"}).errField())
	seen, cursor := 0, ""
	for {
		page := call(t, "supervisor", "GET", "/api/v1/referents?limit=2&structure_id="+sid+"&cursor="+cursor, nil)
		require.Equal(t, 200, page.status, page.raw)
		seen += len(items(page, "items"))
		next, _ := page.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, 5, seen)
	found := call(t, "department", "GET", "/api/v1/referents?q="+url.QueryEscape("Agent 3 "+suffix), nil)
	require.Len(t, items(found, "items"), 1)
	got := call(t, "department", "GET", "/api/v1/referents/"+ids[3], nil)
	require.Equal(t, 200, got.status)
	require.Equal(t, true, got.body["active"])
	require.Equal(t, 404, call(t, "department", "GET", "/api/v1/referents/ref-ghost", nil).status)
	upd := call(t, "department", "PATCH", "/api/v1/referents/"+ids[3], map[string]any{"active": false})
	require.Equal(t, 200, upd.status, upd.raw)
	require.Equal(t, false, upd.body["active"])
	require.Equal(t, "Agent 3 "+suffix, upd.body["name"], "only the keys sent change")
	st := call(t, "department", "PATCH", "/api/v1/structures/"+sid, map[string]any{"address": "Mairie"})
	require.Equal(t, 200, st.status, st.raw)
	require.Equal(t, name, st.body["name"])
	list := call(t, "supervisor", "GET", "/api/v1/structures?q="+url.QueryEscape(suffix), nil)
	require.Len(t, items(list, "items"), 1)
	require.Equal(t, 403, call(t, "referent:ref-1", "GET", "/api/v1/referents", nil).status)

	// Reassignment: an unknown or deactivated référent is refused, in French.
	pid := newOriented(t, today().AddMonths(-2), "social", "ref-1")
	base := "/api/v1/parcours/" + pid + "/referent"
	on := today().String()
	ghost := post(t, "supervisor", base, map[string]any{"referent_id": "ref-ghost", "on": on})
	require.Equal(t, 400, ghost.status, ghost.raw)
	require.Equal(t, "referent_id", ghost.errField())
	require.Contains(t, ghost.raw, "Référent inconnu")
	off := post(t, "supervisor", base, map[string]any{"referent_id": ids[3], "on": on})
	require.Equal(t, 400, off.status, off.raw)
	require.Contains(t, off.raw, "est désactivé")
	// So is an orientation naming one.
	fresh := post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), today().AddDays(-10).String()))
	require.Equal(t, 201, fresh.status, fresh.raw)
	for _, who := range []string{"ref-ghost", ids[3]} {
		o := post(t, "department", "/api/v1/parcours/"+fresh.body["id"].(string)+"/orientation", map[string]any{
			"track": "social", "organism": name, "referent_id": who, "decided_on": today().String()})
		require.Equal(t, 400, o.status, o.raw)
		require.Equal(t, "referent_id", o.errField())
	}
	ok := post(t, "supervisor", base, map[string]any{"referent_id": ids[0], "on": on})
	require.Equal(t, 200, ok.status, ok.raw)
	require.Equal(t, ids[0], ok.body["referent_id"])
}
