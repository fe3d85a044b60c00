package httpapi

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
)

// Protection is what every answer of the service gets, API and pages alike
// (issue 20, items 6 and 8).
type Protection struct {
	// HTTPS: the service is reached over https (PARCOURS_PUBLIC_URL): answers
	// carry Strict-Transport-Security.
	HTTPS bool
	// ReadWithin bounds the time to send a request's body (default 1 min);
	// UploadWithin, that of an import's upload (default 30 min). Without
	// them a client sending a byte every 5 s held a connection for ever.
	ReadWithin, UploadWithin time.Duration
}

// Wrap applies the protection to h.
func (p Protection) Wrap(h http.Handler) http.Handler {
	read, upload := p.ReadWithin, p.UploadWithin
	if read <= 0 {
		read = time.Minute
	}
	if upload <= 0 {
		upload = 30 * time.Minute
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		// Pages and answers carry personal data: no cache keeps them, no
		// other site learns their addresses.
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hdr.Set("Cache-Control", "no-store")
		}
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		if p.HTTPS {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		within := read
		if r.Method == http.MethodPost && isUpload(r.URL.Path) {
			within = upload
		}
		// Only a request with a body gets the deadline: past it, net/http
		// also cancels the request's context, which a long GET (an export)
		// must not suffer; headers are bounded by ReadHeaderTimeout. Not
		// every connection supports deadlines (httptest's recorder): the
		// error is then ignored.
		if r.Body != nil && r.Body != http.NoBody {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(within))
		}
		h.ServeHTTP(w, r.WithContext(app.WithSource(r.Context(), remoteHost(r))))
	})
}

// remoteHost is the client's address as the connection gives it (a reverse
// proxy's X-Forwarded-For is not trusted: anyone can send one).
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isUpload: the routes that receive an import's file.
func isUpload(path string) bool {
	return path == "/api/v1/imports" || strings.HasPrefix(path, "/imports")
}

// ServerTimeouts are the HTTP server's own bounds: headers within 10 s, an
// idle keep-alive connection closed after 2 min.
func ServerTimeouts(s *http.Server) {
	s.ReadHeaderTimeout = 10 * time.Second
	s.IdleTimeout = 2 * time.Minute
}
