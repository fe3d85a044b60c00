// Package httpapi is the JSON API v1 (chi). Handlers decode, call the
// app.Service, and encode; Error maps every domain error code to its status
// in one place.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpx"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/indicators"
	"github.com/parcours-rsa/parcours/internal/metrics"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// Handler serves the API.
type Handler struct {
	Service *app.Service
	Logger  *slog.Logger
	// Importer runs the uploaded imports; nil: one on Service.
	Importer *importer.Importer
	// Metrics, when set, times every request and serves GET /metrics.
	Metrics *metrics.Metrics
}

type actorKey struct{}

func actorFrom(ctx context.Context) domain.Actor {
	a, _ := ctx.Value(actorKey{}).(domain.Actor)
	return a
}

// Routes is the whole HTTP surface of the API.
func (h *Handler) Routes() chi.Router {
	r := chi.NewRouter()
	if h.Metrics != nil {
		r.Use(h.Metrics.Middleware)
	}
	r.Use(middleware.RequestID, h.logRequests, middleware.Recoverer)
	if h.Metrics != nil {
		// On the service's address, the metrics need an administrator's
		// token (issue 20); PARCOURS_METRICS_ADDR serves them to probes
		// and Prometheus on a private address without one.
		r.With(h.authenticate, h.adminOnly).Method(http.MethodGet, "/metrics", h.Metrics.Handler())
	}
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := h.Service.Ready(ctx); err != nil {
			h.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(h.authenticate, h.idempotency)
		h.apiRoutes(r)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.Error(w, r, domain.Errorf(domain.ENOTFOUND, "Adresse inconnue : %s.", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody("method_not_allowed", "Méthode "+r.Method+" non admise ici.", ""))
	})
	return r
}

// apiRoutes are the routes under /api/v1, behind authentication.
func (h *Handler) apiRoutes(r chi.Router) {
	r.Post("/parcours", h.handleIntake)
	r.Get("/parcours", h.handleListParcours)
	r.Get("/parcours/{id}", h.handleGetParcours)
	r.Post("/parcours/{id}/orientation", command(h, h.Service.RecordOrientation))
	r.Post("/parcours/{id}/orientation-notified", command(h, h.Service.RecordOrientationNotified))
	r.Post("/parcours/{id}/contracts", command(h, h.Service.RecordContract))
	r.Post("/parcours/{id}/reorientation-requests", command(h, h.Service.RequestReorientation))
	r.Post("/parcours/{id}/reorientation-decision", command(h, h.Service.DecideReorientation))
	r.Post("/parcours/{id}/referent", command(h, h.Service.ReassignReferent))
	r.Post("/parcours/{id}/obstacles", command(h, h.Service.RecordObstacles))
	r.Post("/parcours/{id}/reviews", command(h, h.Service.RecordReview))
	r.Post("/parcours/{id}/actions", h.handleAction)
	r.Post("/parcours/{id}/actions/{n}/outcome", h.handleActionOutcome)
	r.Post("/parcours/{id}/actions/{n}/follow-ups/{months}", h.handleFollowUp)
	r.Post("/parcours/{id}/exit", command(h, h.Service.RecordExit))
	r.Post("/parcours/{id}/relances", command(h, h.Service.RecordRelance))
	r.Post("/parcours/{id}/breaches", h.handleBreach)
	r.Post("/imports", h.handleStartImport)
	r.Get("/imports", h.handleImports)
	r.Get("/imports/{id}", h.handleImport)
	r.Get("/imports/{id}/{csv:rejects.csv}", h.handleImport)
	r.Get("/identity-conflicts", h.handleIdentityConflicts)
	r.Post("/identity-conflicts/{id}/resolve", h.handleResolveIdentity)
	r.Get("/import-mapping", h.handleGetMapping)
	r.Put("/import-mapping", h.handlePutMapping)
	r.Get("/indicators", h.handleIndicators)
	r.Get("/indicators.csv", h.handleIndicators)
	r.Get("/reviews", h.handleReviews)
	r.Get("/reviews/{id}", h.handleReview)
	r.Post("/reviews/{id}/notice", reviewCommand(h, h.Service.SendNotice))
	r.Post("/reviews/{id}/hearing", reviewCommand(h, h.Service.RecordHearing))
	r.Post("/reviews/{id}/compliance", reviewCommand(h, h.Service.RecordCompliance))
	r.Post("/reviews/{id}/legitimate-reason", reviewCommand(h, h.Service.RecordLegitimateReason))
	r.Post("/reviews/{id}/decision", reviewCommand(h, h.Service.Decide))
	r.Post("/reviews/{id}/appeal", reviewCommand(h, h.Service.RecordAppeal))
	r.Post("/reviews/{id}/appeal-decision", reviewCommand(h, h.Service.DecideAppeal))
	r.Post("/reviews/{id}/radiation", reviewCommand(h, h.Service.DecideRadiation))
	h.routeLetters(r)
	h.routeCampaign(r)
	h.routeDirectory(r)
	r.Get("/tasks", h.handleTasks)
}

// logRequests logs one line per request: method, route pattern, status,
// duration. Never the body or query values (they may hold personal data).
func (h *Handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		level := slog.LevelInfo
		if ww.Status() >= 500 {
			level = slog.LevelError
		}
		h.Logger.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path,
			"status", ww.Status(), "duration_ms", time.Since(start).Milliseconds(), "request_id", middleware.GetReqID(r.Context()))
	})
}

func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		if header != "" && !ok {
			h.Error(w, r, domain.Errorf(domain.EUNAUTHORIZED, "En-tête Authorization invalide : attendu « Bearer <jeton> »."))
			return
		}
		a, err := h.Service.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			h.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, a)))
	})
}

// adminOnly lets administrators through.
func (h *Handler) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := actorFrom(r.Context()); a.Role != domain.RoleAdmin {
			h.Error(w, r, domain.Errorf(domain.EFORBIDDEN, "Les métriques sont réservées aux administrateurs (ou à PARCOURS_METRICS_ADDR)."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) handleIntake(w http.ResponseWriter, r *http.Request) {
	var in domain.Intake
	if err := decode(r, &in); err != nil {
		h.Error(w, r, err)
		return
	}
	v, created, err := h.Service.Intake(r.Context(), actorFrom(r.Context()), in)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/parcours/"+v.ID)
	}
	writeJSON(w, status, v)
}

func (h *Handler) handleGetParcours(w http.ResponseWriter, r *http.Request) {
	v, err := h.Service.Get(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) handleListParcours(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := postgres.ParcoursFilter{ReferentID: q.Get("referent_id"), Cursor: q.Get("cursor")}
	var err error
	if f.Limit, err = limit(q.Get("limit"), 50, 500); err != nil {
		h.Error(w, r, err)
		return
	}
	if s := q.Get("status"); s != "" {
		f.Status = domain.Status(s)
		if !slices.Contains(domain.Statuses, f.Status) {
			h.Error(w, r, domain.FieldError("status", "Statut inconnu %q : awaiting_orientation, awaiting_contract ou in_accompaniment.", s))
			return
		}
	}
	if f.Overdue, err = boolParam(q.Get("overdue"), "overdue"); err != nil {
		h.Error(w, r, err)
		return
	}
	items, next, err := h.Service.List(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if items == nil {
		items = []domain.ParcoursSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nullable(next)})
}

// command serves a POST that records one event on a parcours: decode the
// body, run the use case, answer the parcours as it now is.
func command[T any](h *Handler, run func(context.Context, domain.Actor, string, T) (domain.ParcoursView, error)) http.HandlerFunc {
	return post(h, run)
}

// reviewCommand is the same for a step of a sanction case.
func reviewCommand[T any](h *Handler, run func(context.Context, domain.Actor, string, T) (domain.ReviewView, error)) http.HandlerFunc {
	return post(h, run)
}

func post[T, V any](h *Handler, run func(context.Context, domain.Actor, string, T) (V, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in T
		if err := decode(r, &in); err != nil {
			h.Error(w, r, err)
			return
		}
		v, err := run(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), in)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (h *Handler) handleBreach(w http.ResponseWriter, r *http.Request) {
	var in domain.Breach
	if err := decode(r, &in); err != nil {
		h.Error(w, r, err)
		return
	}
	v, rid, err := h.Service.ReportBreach(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), in)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/reviews/"+rid)
	writeJSON(w, http.StatusCreated, v)
}

// handleIndicators answers the report as JSON, or as CSV (one line per
// figure and breakdown part) for /indicators.csv.
func (h *Handler) handleIndicators(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := indicators.Filter{Structure: q.Get("structure"), ReferentID: q.Get("referent_id")}
	for _, p := range []struct {
		name string
		dst  *domain.Date
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			d, err := domain.ParseDate(v)
			if err != nil {
				h.Error(w, r, domain.FieldError(p.name, "%s", err.Error()))
				return
			}
			*p.dst = d
		}
	}
	if f.From.IsZero() && f.To.IsZero() {
		f.From, f.To = app.DefaultPeriod(time.Now())
	}
	rep, err := h.Service.Indicators(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if !strings.HasSuffix(r.URL.Path, ".csv") {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		h.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="indicateurs-%s-%s.csv"`, rep.From, rep.To))
	_, _ = w.Write(buf.Bytes())
}

func (h *Handler) handleReviews(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := postgres.ReviewFilter{Status: q.Get("status"), ParcoursID: q.Get("parcours_id")}
	var err error
	if f.Limit, err = limit(q.Get("limit"), 100, 1000); err != nil {
		h.Error(w, r, err)
		return
	}
	if f.ParcoursID != "" {
		if _, perr := uuid.Parse(f.ParcoursID); perr != nil {
			h.Error(w, r, domain.FieldError("parcours_id", "Identifiant de parcours invalide."))
			return
		}
	}
	items, err := h.Service.Reviews(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if items == nil {
		items = []domain.ReviewView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *Handler) handleReview(w http.ResponseWriter, r *http.Request) {
	v, err := h.Service.Review(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) handleAction(w http.ResponseWriter, r *http.Request) {
	var in domain.Action
	if err := decode(r, &in); err != nil {
		h.Error(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	v, n, err := h.Service.RecordAction(r.Context(), actorFrom(r.Context()), id, in)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/parcours/%s/actions/%d", id, n))
	writeJSON(w, http.StatusCreated, v)
}

func (h *Handler) handleActionOutcome(w http.ResponseWriter, r *http.Request) {
	n, err := pathInt(r, "n", "numéro d'action")
	if err != nil {
		h.Error(w, r, err)
		return
	}
	command(h, func(ctx context.Context, a domain.Actor, id string, o domain.ActionOutcome) (domain.ParcoursView, error) {
		return h.Service.RecordActionOutcome(ctx, a, id, n, o)
	})(w, r)
}

func (h *Handler) handleFollowUp(w http.ResponseWriter, r *http.Request) {
	n, err := pathInt(r, "n", "numéro d'action")
	if err != nil {
		h.Error(w, r, err)
		return
	}
	months, err := pathInt(r, "months", "nombre de mois (3 ou 6)")
	if err != nil {
		h.Error(w, r, err)
		return
	}
	command(h, func(ctx context.Context, a domain.Actor, id string, f domain.FollowUpAnswer) (domain.ParcoursView, error) {
		return h.Service.RecordFollowUp(ctx, a, id, n, months, f)
	})(w, r)
}

func pathInt(r *http.Request, name, what string) (int, error) {
	n, err := strconv.Atoi(chi.URLParam(r, name))
	if err != nil || n < 1 {
		return 0, domain.Errorf(domain.ENOTFOUND, "Adresse inconnue : %s invalide.", what)
	}
	return n, nil
}

func (h *Handler) handleTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := postgres.TaskFilter{Status: q.Get("status"), Assignee: q.Get("assignee")}
	switch f.Status {
	case "", "open", "overdue", "done":
	default:
		h.Error(w, r, domain.FieldError("status", "Statut de tâche inconnu %q : open, overdue ou done.", f.Status))
		return
	}
	var err error
	if f.Limit, err = limit(q.Get("limit"), 100, 1000); err != nil {
		h.Error(w, r, err)
		return
	}
	items, err := h.Service.Tasks(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if items == nil {
		items = []domain.TaskView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// Error writes err as {"error": {...}} with the status its code maps to;
// internal errors are logged and never shown.
func (h *Handler) Error(w http.ResponseWriter, r *http.Request, err error) {
	err = postgres.AsUnavailable(err)
	code := domain.ErrorCode(err)
	status := httpx.Status(code)
	if status >= 500 {
		h.Logger.Error("request failed", "path", r.URL.Path, "code", code, "error", err, "request_id", middleware.GetReqID(r.Context()))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parcours"`)
	}
	writeJSON(w, status, errorBody(code, domain.ErrorMessage(err), domain.ErrorField(err)))
}

func errorBody(code, msg, field string) map[string]any {
	e := map[string]string{"code": code, "message": msg}
	if field != "" {
		e["field"] = field
	}
	return map[string]any{"error": e}
}

// writeJSON renders into a buffer first, so that an encoding failure
// cannot leave half a response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"Erreur d'encodage."}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decode reads a JSON object strictly into the struct v points to: unknown
// keys, trailing data, wrong types and impossible dates are errors naming
// their field. Keys are decoded one by one so that every error knows its key.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return domain.Errorf(domain.EINVALID, "Type de contenu %q non admis : envoyez du JSON (application/json).", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	var raw map[string]json.RawMessage
	err := dec.Decode(&raw)
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.EINVALID, "Corps de requête vide : un objet JSON est attendu.")
	case errors.As(err, &maxErr):
		return domain.Errorf(domain.EINVALID, "Corps de requête trop grand (1 Mo au plus).")
	case errors.As(err, &typeErr), err == nil && raw == nil:
		return domain.Errorf(domain.EINVALID, "Un objet JSON est attendu.")
	case err != nil:
		return domain.Errorf(domain.EINVALID, "JSON mal formé.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Errorf(domain.EINVALID, "JSON invalide : une seule valeur attendue.")
	}
	rv := reflect.ValueOf(v).Elem()
	fields := map[string]int{}
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || f.Tag.Get("api") == "-" || name == "" || name == "-" {
			continue // set by the service, never by clients
		}
		fields[name] = i
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := fields[k]
		if !ok {
			return domain.FieldError(k, "Champ inconnu %q.", k)
		}
		if err := json.Unmarshal(raw[k], rv.Field(i).Addr().Interface()); err != nil {
			if errors.As(err, &typeErr) {
				return domain.FieldError(k, "Type de valeur invalide pour %q.", k)
			}
			return domain.FieldError(k, "Valeur invalide pour %q : %s", k, err.Error())
		}
	}
	return nil
}

func limit(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, domain.FieldError("limit", "limit doit être un entier entre 1 et %d.", max)
	}
	return n, nil
}

func boolParam(s, name string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, domain.FieldError(name, "%s doit valoir true ou false.", name)
	}
	return b, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
