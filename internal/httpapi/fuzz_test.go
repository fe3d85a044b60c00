package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// writeEndpoints are the API's writes taking a JSON body, each with a body
// it accepts (the seed the fuzzer mutates).
var writeEndpoints = []struct{ method, path, body string }{
	{"POST", "/api/v1/parcours", `{"beneficiary_id":"B-1","last_name":"Dupont","first_name":"Jeanne","birth_date":"1985-03-12","entered_at":"2025-06-02"}`},
	{"POST", "/api/v1/parcours/{p}/orientation", `{"track":"socio_professional","organism":"Tremplin","referent_id":"ref-7","decided_on":"2025-06-10"}`},
	{"POST", "/api/v1/parcours/{p}/orientation-notified", `{"notified_on":"2025-06-14"}`},
	{"POST", "/api/v1/parcours/{p}/contracts", `{"kind":"contrat_engagement","signed_on":"2025-06-20","starts_on":"2025-06-20","ends_on":"2025-12-20"}`},
	{"POST", "/api/v1/parcours/{p}/reorientation-requests", `{"reason":"Projet professionnel clarifié","requested_on":"2025-07-01"}`},
	{"POST", "/api/v1/parcours/{p}/reorientation-decision", `{"accept":false,"decided_on":"2025-07-02","reason":"non"}`},
	{"POST", "/api/v1/parcours/{p}/referent", `{"referent_id":"ref-1","reason":"Congé","on":"2025-07-03"}`},
	{"POST", "/api/v1/parcours/{p}/obstacles", `{"categories":["health"],"on":"2025-07-04"}`},
	{"POST", "/api/v1/parcours/{p}/reviews", `{"reviewed_on":"2025-07-05","outcome":"continue"}`},
	{"POST", "/api/v1/parcours/{p}/actions", `{"name":"Chantier d'insertion","kind":"siae","structure":"Régie de quartier","starts_on":"2025-07-06","planned_end_on":"2025-09-06"}`},
	{"POST", "/api/v1/parcours/{p}/actions/1/outcome", `{"ended_on":"2025-09-06","category":"mise_en_parcours_professionnel","detail":"short_or_part_time_contract"}`},
	{"POST", "/api/v1/parcours/{p}/actions/1/follow-ups/3", `{"answered_on":"2025-12-06","situation":"employment","employment_kind":"cdd_6_months_plus"}`},
	{"POST", "/api/v1/parcours/{p}/exit", `{"reason":"income_above_threshold","on":"2025-10-01"}`},
	{"POST", "/api/v1/parcours/{p}/relances", `{"number":1,"sent_on":"2025-08-01","channel":"letter"}`},
	{"POST", "/api/v1/parcours/{p}/breaches", `{"kind":"refusal_contract","facts":"Aucune réponse aux convocations.","reported_on":"2025-08-20"}`},
	{"POST", "/api/v1/reviews/{p}-1/notice", `{"sent_on":"2025-08-21","received_on":"2025-08-23","planned_kind":"suspension","planned_percent":40,"planned_months":2}`},
	{"POST", "/api/v1/reviews/{p}-1/hearing", `{"held_on":"2025-09-01","note":"entendu"}`},
	{"POST", "/api/v1/reviews/{p}-1/compliance", `{"on":"2025-09-02"}`},
	{"POST", "/api/v1/reviews/{p}-1/legitimate-reason", `{"on":"2025-09-03","reason":"hospitalisation"}`},
	{"POST", "/api/v1/reviews/{p}-1/decision", `{"kind":"suspension","percent":40,"months":2,"decided_on":"2025-09-10","effective_on":"2025-10-01","household_size":1,"monthly_amount_cents":64600}`},
	{"POST", "/api/v1/reviews/{p}-1/appeal", `{"filed_on":"2025-09-20","note":"courrier"}`},
	{"POST", "/api/v1/reviews/{p}-1/appeal-decision", `{"decided_on":"2025-10-20","outcome":"upheld","reason":"Faits établis"}`},
	{"POST", "/api/v1/reviews/{p}-1/radiation", `{"decided_on":"2025-11-20","reason":"sanctions répétées"}`},
	{"PUT", "/api/v1/import-mapping", `{"nir":["NIR"],"last_name":["Nom"]}`},
	{"POST", "/api/v1/reviews/{p}-1/notice-receipt", `{"received_on":"2025-08-25"}`},
	{"POST", "/api/v1/reviews/{p}-1/decision-notified", `{"notified_on":"2025-09-12"}`},
	{"POST", "/api/v1/reviews/{p}-1/letters", `{"kind":"notice","address":"1 rue de la Paix\n75002 Paris","planned_kind":"suspension","planned_percent":30,"planned_months":1}`},
	{"POST", "/api/v1/letters/{p}/sent", `{"sent_on":"2025-08-21","mode":"recommande_ar"}`},
	{"POST", "/api/v1/letters/{p}/received", `{"received_on":"2025-08-23"}`},
	{"PUT", "/api/v1/letter-settings/letterhead", `{"departement":"Département du Gers","address":"81 route de Pessan","city":"Auch","signatory_name":"A. B.","signatory_title":"Le Président"}`},
	{"PUT", "/api/v1/letter-settings/bodies/notice", `{"body":"Madame, Monsieur, {{.Personne}}"}`},
	{"POST", "/api/v1/structures", `{"name":"CCAS de Caen","kind":"ccas","address":"1 place de la Mairie"}`},
	{"POST", "/api/v1/referents", `{"name":"Léa Martin","email":"lea@caen.fr","structure_id":"str-abc"}`},
}

// english is what Go's own error texts look like: never shown to a user.
var english = []string{"json:", "cannot unmarshal", "invalid character", "unexpected end", "parsing time", "strconv", "invalid syntax", "out of range", "looking for beginning"}

// FuzzWriteEndpoints posts arbitrary bodies to every write endpoint, through
// the real router, decoders and use cases (as a département agent or a
// référent), with a database that cannot be reached: a body the API refuses
// is answered 4xx with a JSON error in French, never a panic or a 5xx; only a
// body accepted by every check may go on to the database, whose absence is
// then the one 5xx.
func FuzzWriteEndpoints(f *testing.F) {
	for i, e := range writeEndpoints {
		f.Add(uint8(i), false, []byte(e.body))
		f.Add(uint8(i), true, []byte(e.body))
	}
	for i, body := range []string{``, `null`, `[]`, `"x"`, `{`, `{}`, `{"x":1}`, `{} {}`, `{"on":"2025-02-30"}`,
		`{"entered_at":"99999-01-01"}`, `{"percent":1e400}`, `{"number":-9223372036854775808}`, `{"categories":null}`,
		`{"decided_on":"0001-01-01"}`, `{"ends_on":"9999-12-31","starts_on":"0001-01-01","signed_on":"0001-01-01"}`} {
		f.Add(uint8(i), i%2 == 0, []byte(body))
	}
	var reached atomic.Bool
	cfg, err := pgxpool.ParseConfig("postgres://fuzz@127.0.0.1:1/fuzz")
	if err != nil {
		f.Fatal(err)
	}
	cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
		reached.Store(true)
		return errors.New("no database in the fuzz test")
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pool.Close)
	logger := slog.New(slog.DiscardHandler)
	policy, _ := domain.LookupPolicy(domain.DefaultPolicy)
	h := &Handler{Service: &app.Service{DB: &postgres.DB{Pool: pool}, Policy: policy, Logger: logger}, Logger: logger}
	actors := []domain.Actor{
		{ID: "fuzz-dep", Name: "Service RSA", Role: domain.RoleDepartment},
		{ID: "fuzz-ref", Name: "Référent", Role: domain.RoleReferent, ReferentID: "ref-1"},
	}
	var asReferent atomic.Bool
	r := chi.NewRouter() // no Recoverer: a panic fails the fuzz test
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				a := actors[0]
				if asReferent.Load() {
					a = actors[1]
				}
				next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), actorKey{}, a)))
			})
		})
		h.apiRoutes(r)
	})
	const pid = "0b6f3c52-6f0e-4a55-9a8e-3b1f2d6c7a10"

	f.Fuzz(func(t *testing.T, which uint8, referent bool, body []byte) {
		e := writeEndpoints[int(which)%len(writeEndpoints)]
		reached.Store(false)
		asReferent.Store(referent)
		req := httptest.NewRequest(e.method, strings.ReplaceAll(e.path, "{p}", pid), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		res := rec.Result()
		var out struct {
			Error struct{ Code, Message, Field string }
		}
		raw := rec.Body.Bytes()
		if !json.Valid(raw) || json.Unmarshal(raw, &out) != nil {
			t.Fatalf("%s %s: %d, not a JSON body: %q", e.method, e.path, res.StatusCode, raw)
		}
		if res.StatusCode < 400 {
			t.Fatalf("%s %s: %d without a database: %q", e.method, e.path, res.StatusCode, raw)
		}
		if res.StatusCode >= 500 && !reached.Load() {
			t.Fatalf("%s %s: %d for a body refused before the database: %q\nbody: %q", e.method, e.path, res.StatusCode, raw, body)
		}
		if out.Error.Code == "" || out.Error.Message == "" {
			t.Fatalf("%s %s: %d, error without code or message: %q", e.method, e.path, res.StatusCode, raw)
		}
		for _, s := range english {
			if strings.Contains(out.Error.Message, s) {
				t.Fatalf("%s %s: %d, message not for a user: %q\nbody: %q", e.method, e.path, res.StatusCode, out.Error.Message, body)
			}
		}
	})
}
