package httpapi_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

func TestProtectionHeaders(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tc := range []struct {
		https      bool
		path, hsts string
		cache      string
	}{
		{false, "/dossiers/x", "", "no-store"},
		{true, "/api/v1/parcours", "max-age=31536000", "no-store"},
		{false, "/static/app.css", "", ""},
	} {
		rec := httptest.NewRecorder()
		httpapi.Protection{HTTPS: tc.https}.Wrap(ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"), tc.path)
		require.Equal(t, "same-origin", rec.Header().Get("Referrer-Policy"), tc.path)
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), tc.path)
		require.Equal(t, tc.hsts, rec.Header().Get("Strict-Transport-Security"), tc.path)
	}
}

// TestSlowBodyIsCutOff: a client sending its body a byte at a time no
// longer holds a connection for ever (issue 20: 1 byte every 5 s).
func TestSlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "trop lent", http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewUnstartedServer(httpapi.Protection{ReadWithin: 300 * time.Millisecond}.Wrap(read))
	httpapi.ServerTimeouts(srv.Config)
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /formulaire HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)
	closed := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		closed <- line
	}()
	begin := time.Now()
	for time.Since(begin) < 30*time.Second {
		select {
		case line := <-closed:
			require.Less(t, time.Since(begin), 20*time.Second)
			require.True(t, line == "" || strings.Contains(line, "408"), "answer: %q", line)
			return
		case <-time.After(100 * time.Millisecond):
			_, _ = conn.Write([]byte("a")) // may fail once the server closed
		}
	}
	t.Fatal("the server still waits for a body sent a byte every 100 ms after 30 s")
}

// TestRefusedDossierAccessIsAudited: reading or writing a dossier outside
// one's scope answers 404 and leaves an audit row with the source address.
func TestRefusedDossierAccessIsAudited(t *testing.T) {
	t.Parallel()
	r := call(t, "department", "POST", "/api/v1/parcours", intakeBody(beneficiary(t), today().AddDays(-3).String()))
	require.Equal(t, 201, r.status, r.raw)
	pid := r.body["id"].(string)
	require.Equal(t, 404, call(t, "referent:ref-2", "GET", "/api/v1/parcours/"+pid, nil).status)
	require.Equal(t, 404, call(t, "referent:ref-2", "POST", "/api/v1/parcours/"+pid+"/contracts",
		map[string]any{"kind": "contrat_engagement", "signed_on": today().String(), "starts_on": today().String(), "ends_on": today().AddMonths(6).String()}).status)
	rows, err := fixture.db.SearchAudit(context.Background(), postgres.AuditFilter{RecordID: pid, Action: "denied", Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 2, "both refusals audited")
	for _, row := range rows {
		require.Contains(t, row.Detail, `"source": "127.0.0.1"`)
		require.Equal(t, "referent", row.Role)
	}
}

// TestMalformedIdsNeverAnswer500: every route of the API, its parameters
// replaced by ids that are not ids, answers a 4xx, never a 500.
func TestMalformedIdsNeverAnswer500(t *testing.T) {
	t.Parallel()
	router := (&httpapi.Handler{Service: nil}).Routes()
	param := regexp.MustCompile(`\{[^}]+\}`)
	var routes [][2]string
	require.NoError(t, chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.Contains(route, "{") {
			routes = append(routes, [2]string{method, route})
		}
		return nil
	}))
	require.NotEmpty(t, routes)
	for _, bad := range []string{"pas-un-id", "0", "-1", "99999999999999999999999", "01a2046c-zzzz-7364-85bd-000000000000", "%C3%A9t%C3%A9", strings.Repeat("9", 300)} {
		for _, rt := range routes {
			path := strings.TrimSuffix(param.ReplaceAllString(rt[1], bad), "/*")
			var body any
			if rt[0] != http.MethodGet && rt[0] != http.MethodDelete {
				body = map[string]any{}
			}
			got := call(t, "department", rt[0], path, body)
			require.Less(t, got.status, 500, "%s %s: %s", rt[0], path, got.raw)
		}
	}
}

// TestLongGetKeepsItsContext: the body's deadline is not set on a request
// without a body, so a long export is not cancelled by it.
func TestLongGetKeepsItsContext(t *testing.T) {
	t.Parallel()
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			http.Error(w, "annulée", http.StatusServiceUnavailable)
		case <-time.After(3 * 200 * time.Millisecond): // three read deadlines
			w.WriteHeader(http.StatusOK)
		}
	})
	srv := httptest.NewServer(httpapi.Protection{ReadWithin: 200 * time.Millisecond}.Wrap(slow))
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/export.csv")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}
