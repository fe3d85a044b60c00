package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestErrorPagesUseTheAPIStatuses: a page answers an error with the status
// the JSON API gives its code (one map for both). The pages' own map once
// left out « too many » and « unauthorized », which then answered 500
// « Erreur interne ».
func TestErrorPagesUseTheAPIStatuses(t *testing.T) {
	h := &Handler{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, h.parse())
	for code, want := range map[string]int{
		domain.EINVALID: 400, domain.EUNAUTHORIZED: 401, domain.EFORBIDDEN: 403, domain.ENOTFOUND: 404,
		domain.ECONFLICT: 409, domain.ETOOMANY: 429, domain.EUNAVAILABLE: 503, domain.EINTERNAL: 500,
	} {
		rec := httptest.NewRecorder()
		h.fail(rec, httptest.NewRequest(http.MethodGet, "/dossiers/x", nil), domain.Errorf(code, "Message de l'erreur."))
		require.Equal(t, want, rec.Code, code)
		body := rec.Body.String()
		require.NotContains(t, body, "%!")
		if want != 500 {
			require.Contains(t, body, "Message de l&#39;erreur.", code)
			require.NotContains(t, body, "Erreur interne", code)
		}
	}
}
