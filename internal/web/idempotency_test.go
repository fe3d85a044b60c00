package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestFormSentTwiceRecordsOnce: the dossier's forms carry a key of their
// own; the same form sent twice (a double click, the browser resending
// it) records one action, and the next page's form has a new key.
func TestFormSentTwiceRecordsOnce(t *testing.T) {
	t.Parallel()
	today := domain.DateOf(time.Now())
	pid := oriented(t, "WEB-IDEM", "web-ref-1")
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	_, page, _ := lea.get("/dossiers/" + pid + "?onglet=enregistrer")
	once := regexp.MustCompile(`action="/dossiers/` + pid + `/action" novalidate>\s*<input type="hidden" name="csrf" value="[^"]+">\s*<input type="hidden" name="idempotence" value="([^"]+)">`)
	m := once.FindStringSubmatch(page)
	require.NotNil(t, m, "the action form has its key")
	form := url.Values{"csrf": {csrf(t, page)}, "idempotence": {m[1]}, "name": {"Atelier CV"}, "kind": {"employment_support"},
		"structure": {"Tremplin"}, "starts_on": {today.String()}, "planned_end_on": {today.AddMonths(2).String()}}
	for range 2 {
		status, body, _ := lea.post("/dossiers/"+pid+"/action", form)
		require.Equal(t, http.StatusSeeOther, status, body)
	}
	v, err := fx.env.Service.Get(context.Background(), domain.Actor{ID: "test", Role: domain.RoleAdmin}, pid)
	require.NoError(t, err)
	require.Len(t, v.Actions, 1, "one action for the form sent twice")

	_, page, _ = lea.get("/dossiers/" + pid + "?onglet=enregistrer")
	next := once.FindStringSubmatch(page)
	require.NotNil(t, next)
	require.NotEqual(t, m[1], next[1], "a new page, a new key: the next action is another")
}
