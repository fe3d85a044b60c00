package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
)

// OIDC configures OpenID Connect login (ProConnect, the French public
// agents' federation, or any provider): authorization code flow with PKCE
// (S256), state and nonce checked. The person must already have an
// account with the same e-mail address: the provider authenticates, parcours
// authorizes.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // <public URL>/connexion/oidc/retour
	Label        string // the button's text, e.g. "Se connecter avec ProConnect"

	mu       sync.Mutex // guards provider: discovery is tried again until it succeeds
	provider *oidc.Provider
}

const oidcCookie = "parcours_oidc"

// discover reads the provider's configuration once it is first needed, so
// that the service starts even when the provider does not answer.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	// One discovery at a time; a failed one is tried again by the next
	// login. (Resetting a sync.Once after a failure raced with the logins
	// reading it: issue 20.)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect provider %s: %w", o.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// oidcStart sends the browser to the provider with a fresh state, nonce and
// PKCE verifier, kept in a short-lived HttpOnly cookie.
func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request) {
	p, err := h.OIDC.discover(r.Context())
	if err != nil {
		h.Logger.Error("oidc discovery", "error", err)
		h.fail(w, r, domain.Errorf(domain.EUNAVAILABLE, "Le fournisseur d'identité ne répond pas ; réessayez ou utilisez votre mot de passe."))
		return
	}
	state, nonce, verifier := auth.NewSecret(24), auth.NewSecret(24), oauth2.GenerateVerifier()
	http.SetCookie(w, h.cookie(oidcCookie, state+"."+nonce+"."+verifier, 600))
	url := h.OIDC.config(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, url, http.StatusFound)
}

// oidcReturn checks the state, exchanges the code with the verifier,
// verifies the ID token and its nonce, and opens a session for the account
// of its e-mail address.
func (h *Handler) oidcReturn(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(oidcCookie)
	http.SetCookie(w, h.cookie(oidcCookie, "", -1)) // one use
	parts := []string{}
	if err == nil {
		parts = strings.Split(c.Value, ".")
	}
	q := r.URL.Query()
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(parts[0])) != 1 {
		h.render(w, http.StatusForbidden, "error", page{Title: "Connexion refusée", Data: "La connexion a expiré ou ne vient pas de cette page : recommencez depuis la page de connexion."})
		return
	}
	if e := q.Get("error"); e != "" {
		h.render(w, http.StatusUnauthorized, "error", page{Title: "Connexion refusée", Data: "Le fournisseur d'identité a refusé la connexion (" + e + ")."})
		return
	}
	email, subject, err := h.oidcIdentity(r.Context(), q.Get("code"), parts[1], parts[2])
	if errors.Is(err, errUnverified) {
		h.render(w, http.StatusForbidden, "error", page{Title: "Connexion refusée", Data: "Le fournisseur d'identité n'a pas vérifié votre adresse électronique : vérifiez-la chez lui, puis recommencez."})
		return
	}
	if err != nil {
		h.Logger.Warn("oidc login refused", "error", err)
		h.render(w, http.StatusUnauthorized, "error", page{Title: "Connexion refusée", Data: "L'identité transmise n'a pas pu être vérifiée : recommencez."})
		return
	}
	token, err := h.Service.LoginIdentity(r.Context(), email, subject, "oidc")
	if err != nil {
		if domain.ErrorCode(err) == domain.EFORBIDDEN {
			h.render(w, http.StatusForbidden, "error", page{Title: "Connexion refusée", Data: domain.ErrorMessage(err)})
			return
		}
		if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
			h.render(w, http.StatusForbidden, "error", page{Title: "Aucun compte", Data: "Aucun compte parcours actif pour " + email + " : demandez-en un à un administrateur."})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, token, sessionSeconds))
	http.Redirect(w, r, "/echeances", http.StatusSeeOther)
}

var errUnverified = errors.New("id_token's email is not verified")

func (h *Handler) oidcIdentity(ctx context.Context, code, nonce, verifier string) (email, subject string, err error) {
	p, err := h.OIDC.discover(ctx)
	if err != nil {
		return "", "", err
	}
	tok, err := h.OIDC.config(p).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", "", fmt.Errorf("code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return "", "", errors.New("no id_token in the token response")
	}
	id, err := p.Verifier(&oidc.Config{ClientID: h.OIDC.ClientID}).Verify(ctx, raw)
	if err != nil {
		return "", "", fmt.Errorf("id_token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(nonce)) != 1 {
		return "", "", errors.New("id_token nonce does not match")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"` // a boolean, or "true" from some providers
	}
	if err := id.Claims(&claims); err != nil || claims.Email == "" {
		return "", "", errors.New("id_token has no email")
	}
	// An address the provider did not verify proves nothing (issue 20).
	if v := claims.EmailVerified; v != true && v != "true" {
		return "", "", errUnverified
	}
	return claims.Email, id.Issuer + " " + id.Subject, nil
}
