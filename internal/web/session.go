package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
)

// Sessions, CSRF tokens, login and logout.

type ctxKey struct{}

type sessionInfo struct {
	actor      domain.Actor
	csrf       string
	token      string
	parts      *multipart.Reader // an upload's parts after the CSRF token, not yet read
	mustChange bool              // the password is a temporary one
}

func from(ctx context.Context) (domain.Actor, string) {
	s, _ := ctx.Value(ctxKey{}).(sessionInfo)
	return s.actor, s.csrf
}

func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteLaxMode}
}

// maxFormBytes bounds every form but an upload (issue 20: no limit let a
// 34-MB body through the login form).
const maxFormBytes = 64 << 10

// checkCSRF checks a POST's CSRF token. A form's body is read whole, 64 KiB
// at most. An upload (multipart) is never parsed whole: net/http would copy
// a file over 32 MB to the temporary directory, where it stayed for ever
// (chi hands handlers a copy of the request, so net/http's cleanup missed
// it). Its first part must be the token; the other parts are left to the
// handler, which streams the file into the importer's storage once it has
// checked the role. false: the answer is sent.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request, a domain.Actor, csrf string) (*multipart.Reader, bool) {
	expired := func() (*multipart.Reader, bool) {
		h.render(w, http.StatusForbidden, "error", page{Title: "Formulaire expiré", Actor: a, CSRF: csrf,
			Data: "Ce formulaire a expiré ou ne vient pas de parcours. Rechargez la page et recommencez."})
		return nil, false
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		r.Body = http.MaxBytesReader(w, r.Body, importer.MaxUpload+1<<20)
		mr, err := r.MultipartReader()
		if err != nil {
			return expired()
		}
		part, err := mr.NextPart()
		if err != nil || part.FormName() != "csrf" {
			return expired()
		}
		token, err := io.ReadAll(io.LimitReader(part, 256))
		if err != nil || subtle.ConstantTimeCompare(token, []byte(csrf)) != 1 {
			return expired()
		}
		return mr, true
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.render(w, http.StatusRequestEntityTooLarge, "error", page{Title: "Formulaire trop long", Actor: a, CSRF: csrf,
				Data: fmt.Sprintf("Un formulaire ne peut pas dépasser %d Kio.", maxFormBytes>>10)})
			return nil, false
		}
		return expired()
	}
	if r.PostFormValue("csrf") != csrf {
		return expired()
	}
	return nil, true
}

// session requires a live session, and a matching CSRF token on every POST.
func (h *Handler) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			http.Redirect(w, r, "/connexion", http.StatusSeeOther)
			return
		}
		a, csrf, mustChange, err := h.Service.Session(r.Context(), c.Value)
		if err != nil {
			if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
				http.SetCookie(w, h.cookie(sessionCookie, "", -1))
				http.Redirect(w, r, "/connexion", http.StatusSeeOther)
				return
			}
			h.fail(w, r, err)
			return
		}
		if mustChange && !whileMustChange[r.Method+" "+r.URL.Path] {
			// A temporary password (an administrator's reset, the first
			// administrator's): nothing but « Mon compte » until it is changed.
			http.Redirect(w, r, "/compte", http.StatusSeeOther)
			return
		}
		var parts *multipart.Reader
		if r.Method == http.MethodPost {
			var ok bool
			if parts, ok = h.checkCSRF(w, r, a, csrf); !ok {
				return
			}
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, sessionInfo{actor: a, csrf: csrf, token: c.Value, parts: parts, mustChange: mustChange})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// whileMustChange are the requests a session whose password must be
// changed may make.
var whileMustChange = map[string]bool{
	"GET /compte": true, "POST /compte/mot-de-passe": true, "POST /deconnexion": true,
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	token := auth.NewSecret(24)
	http.SetCookie(w, h.cookie(loginCookie, token, 900))
	h.render(w, http.StatusOK, "login", page{Title: "Connexion", CSRF: token, Form: url.Values{}, Data: h.oidcLabel()})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes) // before any parsing: never a temporary file
	c, err := r.Cookie(loginCookie)
	if err != nil || r.PostFormValue("csrf") != c.Value {
		h.render(w, http.StatusForbidden, "error", page{Title: "Formulaire expiré", Data: "Rechargez la page de connexion et recommencez."})
		return
	}
	token, err := h.Service.Login(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), sourceAddress(r))
	if err != nil {
		status := http.StatusUnauthorized
		var many *app.TooManyAttempts
		switch {
		case errors.As(err, &many):
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int((many.Wait+time.Second-1)/time.Second)))
		case domain.ErrorCode(err) != domain.EUNAUTHORIZED:
			h.fail(w, r, err)
			return
		}
		h.render(w, status, "login", page{Title: "Connexion", CSRF: c.Value, Form: url.Values{"email": {r.PostFormValue("email")}},
			Errors: map[string]string{"": domain.ErrorMessage(err)}, Data: h.oidcLabel()})
		return
	}
	http.SetCookie(w, h.cookie(loginCookie, "", -1))
	http.SetCookie(w, h.cookie(sessionCookie, token, sessionSeconds))
	http.Redirect(w, r, "/echeances", http.StatusSeeOther)
}

// sourceAddress is the client's address as the connection gives it (a
// reverse proxy's X-Forwarded-For is not trusted: anyone can send one).
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// oidcLabel is the text of the identity provider's button, "" without one.
func (h *Handler) oidcLabel() string {
	if h.OIDC == nil {
		return ""
	}
	if h.OIDC.Label != "" {
		return h.OIDC.Label
	}
	return "Se connecter avec ProConnect"
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	s, _ := r.Context().Value(ctxKey{}).(sessionInfo)
	if err := h.Service.Logout(r.Context(), s.token); err != nil {
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}
