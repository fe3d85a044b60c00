package httpapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/httpapi"
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
