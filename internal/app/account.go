package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// SessionLength is how long a web session lasts.
const SessionLength = 10 * time.Hour

// NewAccount is what creating an account needs.
type NewAccount struct {
	Email, Name, Password string
	Role                  domain.Role
	ReferentID, Structure string
	// AllStructures: a supervisor without a structure sees every one, said
	// explicitly (issue 20: it was the default).
	AllStructures bool
	// MustChangePassword: the password is shown to someone else than the
	// account's holder (the first administrator's, printed at the first
	// start): it must be changed at the first login.
	MustChangePassword bool
}

// Password rules, the same for a new account and a changed password.
const (
	MinPassword = 12  // characters
	MaxPassword = 256 // characters: a hash's input stays small
)

// checkPassword applies the password rules; field names the form's field.
func checkPassword(field, password string) error {
	switch n := utf8.RuneCountInString(password); {
	case n < MinPassword:
		return domain.FieldError(field, "Le mot de passe compte au moins %d caractères.", MinPassword)
	case n > MaxPassword:
		return domain.FieldError(field, "Le mot de passe compte au plus %d caractères.", MaxPassword)
	}
	return nil
}

// CreateAccount creates a web account with a local password.
func (s *Service) CreateAccount(ctx context.Context, by domain.Actor, n NewAccount) (string, error) {
	if err := authorize(by, "gérer les comptes", domain.RoleAdmin); err != nil {
		return "", err
	}
	switch {
	case !strings.Contains(n.Email, "@"):
		return "", domain.FieldError("email", "Adresse électronique invalide.")
	case strings.TrimSpace(n.Name) == "":
		return "", domain.FieldError("name", "Le nom est obligatoire.")
	case !slices.Contains(domain.Roles, n.Role):
		return "", domain.FieldError("role", "Rôle inconnu %q : admin, department, supervisor ou referent.", n.Role)
	case n.Role == domain.RoleReferent && n.ReferentID == "":
		return "", domain.FieldError("referent", "Un compte de référent nomme son identifiant de référent.")
	case n.Role == domain.RoleSupervisor && strings.TrimSpace(n.Structure) == "" && !n.AllStructures:
		return "", domain.FieldError("structure", "Un compte d'encadrement nomme sa structure, ou voit toutes les structures si on le dit (case « Toutes les structures », --all-structures).")
	case n.Role != domain.RoleSupervisor && n.AllStructures:
		return "", domain.FieldError("structure", "« Toutes les structures » ne vaut que pour l'encadrement.")
	}
	if err := checkPassword("password", n.Password); err != nil {
		return "", err
	}
	if by.ID != domain.System.ID {
		// The form chooses from the lists; only the service's own callers
		// (first administrator, command line) may name records to create.
		if err := s.checkDirectory(ctx, n.ReferentID, n.Structure); err != nil {
			return "", err
		}
	}
	id, err := s.DB.CreateAccount(ctx, postgres.Account{Email: n.Email, Name: n.Name, Role: n.Role, ReferentID: n.ReferentID, AllStructures: n.AllStructures,
		Structure: n.Structure, PasswordHash: auth.HashPassword(n.Password), MustChangePassword: n.MustChangePassword})
	if err != nil {
		return "", err
	}
	return id, s.audit(ctx, by, "create", "account", id, map[string]any{"role": n.Role})
}

// FirstAdminEmail is the first administrator's login.
const FirstAdminEmail = "admin@parcours.local"

// EnsureFirstAdmin creates an administrator when there is no account at
// all, and returns its password once (make run prints it). The password
// went through the service's output (a container's log keeps it): it must
// be changed at the first login.
func (s *Service) EnsureFirstAdmin(ctx context.Context) (email, password string, created bool, err error) {
	n, err := s.DB.CountAccounts(ctx)
	if err != nil || n > 0 {
		return "", "", false, err
	}
	email, password = FirstAdminEmail, auth.NewSecret(12)
	_, err = s.CreateAccount(ctx, domain.System, NewAccount{Email: email, Name: "Administrateur", Password: password, Role: domain.RoleAdmin,
		MustChangePassword: true})
	return email, password, err == nil, err
}

// HasPassword says whether the actor's own account has a local password
// (an account of OpenID Connect only has none).
func (s *Service) HasPassword(ctx context.Context, a domain.Actor) (bool, error) {
	id, ok := strings.CutPrefix(a.ID, "account:")
	if !ok {
		return false, nil
	}
	acc, err := s.DB.AccountByID(ctx, id)
	return acc.PasswordHash != "", err
}

// ChangePassword lets an account's holder choose a new password (« Mon
// compte »): the current one is required, and its check is slowed down like
// a login's (the same guard, the same count per account and per source);
// the new one follows the rules of a new account and is typed twice. The
// account's other sessions end; session (the cookie of the one in use)
// stays open. It clears a temporary password's flag.
func (s *Service) ChangePassword(ctx context.Context, a domain.Actor, session, current, next, confirm, source string) error {
	id, ok := strings.CutPrefix(a.ID, "account:")
	if !ok {
		return domain.Errorf(domain.EFORBIDDEN, "Seul un compte de l'application a un mot de passe.")
	}
	acc, err := s.DB.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	if acc.PasswordHash == "" {
		return domain.Errorf(domain.ECONFLICT, "Ce compte se connecte par le fournisseur d'identité : il n'a pas de mot de passe dans parcours.")
	}
	g := s.guard()
	key := strings.ToLower(acc.Email)
	if wait := g.Wait(key, source); wait > 0 {
		return tooMany(wait)
	}
	switch {
	case current == "":
		return domain.FieldError("current_password", "Saisissez votre mot de passe actuel.")
	case next != confirm:
		return domain.FieldError("confirm_password", "Les deux saisies du nouveau mot de passe diffèrent.")
	case next == current:
		return domain.FieldError("new_password", "Le nouveau mot de passe doit différer de l'actuel.")
	}
	if err := checkPassword("new_password", next); err != nil {
		return err
	}
	right, hash := false, ""
	if err := g.Hash(ctx, func() {
		if right, _ = auth.CheckPassword(acc.PasswordHash, current); right {
			hash = auth.HashPassword(next)
		}
	}); err != nil {
		if errors.Is(err, auth.ErrBusy) {
			return tooMany(0)
		}
		return err
	}
	if !right {
		g.Failed(key, source)
		if err := s.audit(ctx, a, "password_change_failed", "account", id, map[string]any{"source": source}); err != nil {
			return err
		}
		return domain.FieldError("current_password", "Mot de passe actuel incorrect.")
	}
	g.Succeeded(key)
	var keep []byte
	if session != "" {
		keep = auth.HashToken(session)
	}
	_, err = s.DB.SetPassword(ctx, id, hash, false, keep, postgres.AuditEntry{Actor: a, Action: "password_change", RecordType: "account", RecordID: id,
		Detail: map[string]any{"source": source, "was_temporary": acc.MustChangePassword}})
	return err
}

// ResetPassword gives an account a temporary password, returned to be
// shown once to the administrator, who hands it over: every session of the
// account ends, and the next ones reach only « Mon compte » until its
// holder has chosen a new password. Administrators only; one's own
// password is changed on « Mon compte ».
func (s *Service) ResetPassword(ctx context.Context, by domain.Actor, id string) (email, password string, err error) {
	if err := authorize(by, "gérer les comptes", domain.RoleAdmin); err != nil {
		return "", "", err
	}
	if "account:"+id == by.ID {
		return "", "", domain.Errorf(domain.ECONFLICT, "Pour votre propre compte, changez votre mot de passe sur la page « Mon compte ».")
	}
	acc, err := s.DB.AccountByID(ctx, id)
	if err != nil {
		return "", "", err
	}
	password = auth.NewSecret(12)
	_, err = s.DB.SetPassword(ctx, id, auth.HashPassword(password), true, nil, postgres.AuditEntry{Actor: by, Action: "password_reset", RecordType: "account", RecordID: id,
		Detail: map[string]any{"source": SourceOf(ctx)}})
	if err != nil {
		return "", "", err
	}
	return acc.Email, password, nil
}

// ResetPasswordByEmail is ResetPassword for the account of an e-mail
// address (the command line: parcours account reset-password).
func (s *Service) ResetPasswordByEmail(ctx context.Context, by domain.Actor, email string) (string, error) {
	acc, err := s.DB.AccountByEmail(ctx, email)
	if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
		return "", domain.FieldError("email", "Aucun compte actif n'a l'adresse %s.", email)
	}
	if err != nil {
		return "", err
	}
	_, password, err := s.ResetPassword(ctx, by, acc.ID)
	return password, err
}

// TooManyAttempts refuses a login while the account or the source address
// must wait (auth.LoginGuard), or while too many are checked at once.
type TooManyAttempts struct {
	Wait time.Duration
	err  *domain.Error
}

func (t *TooManyAttempts) Error() string { return t.err.Error() }
func (t *TooManyAttempts) Unwrap() error { return t.err }

func tooMany(wait time.Duration) error {
	msg := "Trop de connexions en même temps : réessayez dans quelques secondes."
	if wait > 0 {
		msg = "Trop de tentatives de connexion : réessayez " + inFrench(wait) + "."
	}
	return &TooManyAttempts{Wait: max(wait, time.Second), err: domain.Errorf(domain.ETOOMANY, "%s", msg)}
}

// inFrench reads a wait: "dans 3 secondes", "dans 2 minutes".
func inFrench(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second) // whole seconds, rounded up
	switch {
	case s <= 1:
		return "dans une seconde"
	case s < 60:
		return fmt.Sprintf("dans %d secondes", s)
	case s <= 60:
		return "dans une minute"
	}
	return fmt.Sprintf("dans %d minutes", (s+59)/60)
}

var defaultGuard = auth.NewLoginGuard()

func (s *Service) guard() *auth.LoginGuard {
	if s.LoginGuard != nil {
		return s.LoginGuard
	}
	return defaultGuard
}

// Login checks a password and opens a session; it returns the cookie value.
// source is the client's address: failures are counted per account and per
// source, and audited with it.
func (s *Service) Login(ctx context.Context, email, password, source string) (string, error) {
	g := s.guard()
	key := strings.ToLower(strings.TrimSpace(email))
	if wait := g.Wait(key, source); wait > 0 {
		return "", tooMany(wait)
	}
	a, err := s.DB.AccountByEmail(ctx, email)
	known := err == nil
	if err != nil && domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		return "", err
	}
	ok := false
	if err := g.Hash(ctx, func() {
		if !known || a.PasswordHash == "" {
			auth.CheckUnknown(password) // the same time, known e-mail or not
			return
		}
		ok, _ = auth.CheckPassword(a.PasswordHash, password)
	}); err != nil {
		if errors.Is(err, auth.ErrBusy) {
			return "", tooMany(0)
		}
		return "", err
	}
	if !ok {
		g.Failed(key, source)
		detail := map[string]any{"source": source}
		if !known {
			detail["unknown_email"] = true
		}
		anonymous := domain.Actor{ID: "anonymous", Name: "anonyme"}
		if err := s.audit(ctx, anonymous, "login_failed", "account", a.ID, detail); err != nil {
			return "", err
		}
		return "", domain.Errorf(domain.EUNAUTHORIZED, "Identifiant ou mot de passe incorrect.")
	}
	g.Succeeded(key)
	token := auth.NewSecret(32)
	if err := s.DB.CreateSession(ctx, a.ID, auth.HashToken(token), auth.NewSecret(24), time.Now().Add(SessionLength)); err != nil {
		return "", err
	}
	return token, s.audit(ctx, a.Actor(), "login", "account", a.ID, map[string]any{"source": source})
}

// Session finds who holds a session cookie, the session's CSRF token, and
// whether the account must change its password before anything else.
func (s *Service) Session(ctx context.Context, token string) (a domain.Actor, csrf string, mustChange bool, err error) {
	if token == "" {
		return domain.Actor{}, "", false, domain.Errorf(domain.EUNAUTHORIZED, "Connectez-vous.")
	}
	acc, csrf, err := s.DB.SessionAccount(ctx, auth.HashToken(token))
	if err != nil {
		return domain.Actor{}, "", false, err
	}
	return acc.Actor(), csrf, acc.MustChangePassword, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.DB.DeleteSession(ctx, auth.HashToken(token))
}

// SearchAudit reads the audit log: administrators only.
func (s *Service) SearchAudit(ctx context.Context, a domain.Actor, f postgres.AuditFilter) ([]postgres.AuditRow, error) {
	if err := authorize(a, "consulter le journal d'audit", domain.RoleAdmin); err != nil {
		return nil, err
	}
	rows, err := s.DB.SearchAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	return rows, s.audit(ctx, a, "search", "audit_log", "", map[string]any{"rows": len(rows)})
}

// Search finds the parcours the actor may see by name, identifier or NIR.
func (s *Service) Search(ctx context.Context, a domain.Actor, q string) ([]domain.ParcoursSummary, error) {
	list, _, err := s.SearchPage(ctx, a, postgres.SearchFilter{Query: q, Limit: 100}, false)
	return list, err
}

// SearchPage is a page of a search's results within the actor's scope, in
// f's order, and with count the number of all the results.
func (s *Service) SearchPage(ctx context.Context, a domain.Actor, f postgres.SearchFilter, count bool) ([]domain.ParcoursSummary, int, error) {
	if len([]rune(strings.TrimSpace(f.Query))) < 2 {
		return nil, 0, domain.FieldError("q", "Saisissez au moins 2 caractères.")
	}
	f.Scope = postgres.ScopeOf(a)
	total := 0
	if count {
		var err error
		if total, err = s.DB.CountSearch(ctx, f.Scope, f.Query); err != nil {
			return nil, 0, err
		}
	}
	list, err := s.DB.SearchPage(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	return list, total, s.audit(ctx, a, "search", "parcours", "", map[string]any{"ids": ids})
}

// Accounts lists the accounts: administrators only.
func (s *Service) Accounts(ctx context.Context, a domain.Actor) ([]postgres.Account, error) {
	if err := authorize(a, "gérer les comptes", domain.RoleAdmin); err != nil {
		return nil, err
	}
	return s.DB.ListAccounts(ctx)
}

// DisableAccount closes an account; its sessions end at once.
func (s *Service) DisableAccount(ctx context.Context, a domain.Actor, id string) error {
	if err := authorize(a, "gérer les comptes", domain.RoleAdmin); err != nil {
		return err
	}
	if "account:"+id == a.ID {
		return domain.Errorf(domain.ECONFLICT, "Vous ne pouvez pas désactiver votre propre compte.")
	}
	if err := s.DB.DisableAccount(ctx, id); err != nil {
		return err
	}
	return s.audit(ctx, a, "update", "account", id, map[string]any{"disabled": true})
}

// LoginIdentity opens a session for an account whose e-mail address an
// identity provider has just authenticated.
func (s *Service) LoginIdentity(ctx context.Context, email, subject, method string) (string, error) {
	a, err := s.identityAccount(ctx, email, subject)
	if err != nil {
		return "", err
	}
	token := auth.NewSecret(32)
	if err := s.DB.CreateSession(ctx, a.ID, auth.HashToken(token), auth.NewSecret(24), time.Now().Add(SessionLength)); err != nil {
		return "", err
	}
	return token, s.audit(ctx, a.Actor(), "login", "account", a.ID, map[string]any{"method": method, "source": SourceOf(ctx)})
}

// identityAccount finds the account of a provider's identity (issue 20): by
// its subject once bound; else by its verified e-mail, binding the subject
// at this first login. An account bound to another subject is refused: an
// e-mail address changed at the provider never opens someone else's account.
func (s *Service) identityAccount(ctx context.Context, email, subject string) (postgres.Account, error) {
	if subject == "" {
		return s.DB.AccountByEmail(ctx, email)
	}
	a, err := s.DB.AccountByOIDCSubject(ctx, subject)
	if err == nil || domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		return a, err
	}
	if a, err = s.DB.AccountByEmail(ctx, email); err != nil {
		return a, err
	}
	bound, err := s.DB.BindOIDCSubject(ctx, a.ID, subject)
	if err != nil {
		return a, err
	}
	if !bound {
		anonymous := domain.Actor{ID: "anonymous", Name: "anonyme"}
		if err := s.audit(ctx, anonymous, "login_failed", "account", a.ID, map[string]any{"method": "oidc", "reason": "other_subject", "source": SourceOf(ctx)}); err != nil {
			return a, err
		}
		return a, domain.Errorf(domain.EFORBIDDEN, "Ce compte est lié à une autre identité du fournisseur : demandez à un administrateur de vérifier votre compte.")
	}
	return a, s.audit(ctx, a.Actor(), "bind_identity", "account", a.ID, map[string]any{"method": "oidc"})
}

// DigestSendings lists the staff digests sent, for the administrators.
func (s *Service) DigestSendings(ctx context.Context, a domain.Actor) ([]postgres.DigestRecord, error) {
	if err := authorize(a, "gérer les comptes", domain.RoleAdmin); err != nil {
		return nil, err
	}
	return s.DB.ListDigestSendings(ctx, 200)
}

// DigestOptOut says whether the actor's own account opted out of the digest.
func (s *Service) DigestOptOut(ctx context.Context, a domain.Actor) (bool, error) {
	id, ok := strings.CutPrefix(a.ID, "account:")
	if !ok {
		return false, domain.Errorf(domain.EFORBIDDEN, "Seul un compte de l'application reçoit le récapitulatif.")
	}
	return s.DB.DigestOptOut(ctx, id)
}

// SetDigestOptOut records the actor's own choice about the daily digest.
func (s *Service) SetDigestOptOut(ctx context.Context, a domain.Actor, out bool) error {
	id, ok := strings.CutPrefix(a.ID, "account:")
	if !ok {
		return domain.Errorf(domain.EFORBIDDEN, "Seul un compte de l'application reçoit le récapitulatif.")
	}
	if err := s.DB.SetDigestOptOut(ctx, id, out); err != nil {
		return err
	}
	return s.audit(ctx, a, "update", "account", id, map[string]any{"digest_opt_out": out})
}

// checkDirectory refuses an unknown or deactivated référent and an unknown structure.
func (s *Service) checkDirectory(ctx context.Context, referentID, structure string) error {
	if referentID != "" {
		r, err := s.DB.GetReferent(ctx, referentID)
		switch {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			return domain.FieldError("referent", "Référent inconnu : choisissez le référent dans la liste.")
		case err != nil:
			return err
		case !r.Active:
			return domain.FieldError("referent", "Le référent « %s » est désactivé.", r.Name)
		}
	}
	if structure != "" {
		list, _, err := s.DB.ListStructures(ctx, postgres.DirectoryFilter{Q: structure, Limit: 50})
		if err != nil {
			return err
		}
		for _, st := range list {
			if strings.EqualFold(st.Name, structure) {
				return nil
			}
		}
		return domain.FieldError("structure", "Structure inconnue : choisissez la structure dans la liste.")
	}
	return nil
}
