package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/importer"
	"github.com/parcours-rsa/parcours/internal/indicators"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The OpenAPI description of the API (docs/openapi.json) is checked against
// the code: every route of the router is described and nothing else
// (TestOpenAPIDescribesEveryRoute); each schema names the keys of the Go
// type behind it and the values the domain accepts
// (TestOpenAPISchemasMatchGoTypes, TestOpenAPIEnumsMatchTheDomain); every
// example validates against its schema (TestOpenAPIExamplesValidate); real
// answers of the test server validate against the response schemas
// (TestOpenAPIRealAnswersValidate). docs/api.md says how to add a route.

const openAPIFile = "../../docs/openapi.json"

// openAPIURL is the spec's address for the schema compiler; schemas are
// compiled by JSON pointer into it, so that "#/components/schemas/X"
// resolves inside the same document.
const openAPIURL = "https://parcours.invalid/docs/openapi.json"

var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

type openAPIDoc struct {
	doc   map[string]any
	comp  *jsonschema.Compiler
	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
}

var loadOpenAPI = sync.OnceValues(func() (*openAPIDoc, error) {
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", openAPIFile, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // dates are checked, not only annotated
	if err := c.AddResource(openAPIURL, inst); err != nil {
		return nil, err
	}
	return &openAPIDoc{doc: doc, comp: c, cache: map[string]*jsonschema.Schema{}}, nil
})

func openAPISpec(t *testing.T) *openAPIDoc {
	t.Helper()
	s, err := loadOpenAPI()
	require.NoError(t, err)
	return s
}

// jsonPointer escapes the tokens of a JSON pointer (RFC 6901).
func jsonPointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteString("/")
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// schemaAt compiles the schema at a JSON pointer of the spec.
func (s *openAPIDoc) schemaAt(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[ptr]; ok {
		return sch, nil
	}
	sch, err := s.comp.Compile(openAPIURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	s.cache[ptr] = sch
	return sch, nil
}

func (s *openAPIDoc) paths() map[string]any { return s.doc["paths"].(map[string]any) }

// operations lists the spec's "METHOD path" pairs.
func (s *openAPIDoc) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	for path, item := range s.paths() {
		for m, op := range item.(map[string]any) {
			if slices.Contains(openAPIMethods, m) {
				ops[strings.ToUpper(m)+" "+path] = op.(map[string]any)
			}
		}
	}
	return ops
}

// chiLiteralParam is a chi parameter whose regexp only ever matches one name
// (`{csv:rejects.csv}`): chi needs it to tell /imports/{id}/rejects.csv
// from /imports/{id}, the spec shows the literal segment.
var (
	chiLiteralParam = regexp.MustCompile(`\{[a-z_]+:([A-Za-z0-9_.-]+)\}`)
	chiRegexpParam  = regexp.MustCompile(`\{([a-z_]+):[^}]+\}`)
)

// openAPIPath turns a chi route pattern into the spec's path template:
// `{id}` stays, `{name:literal}` becomes the literal, and a parameter with
// a real regexp `{name:[0-9]+}` becomes `{name}`.
func openAPIPath(route string) string {
	route = chiLiteralParam.ReplaceAllString(route, "$1")
	return chiRegexpParam.ReplaceAllString(route, "{$1}")
}

func TestOpenAPIPathMapping(t *testing.T) {
	require.Equal(t, "/api/v1/imports/{id}/rejects.csv", openAPIPath("/api/v1/imports/{id}/{csv:rejects.csv}"))
	require.Equal(t, "/api/v1/x/{n}", openAPIPath("/api/v1/x/{n:[0-9]+}"))
	require.Equal(t, "/api/v1/parcours/{id}", openAPIPath("/api/v1/parcours/{id}"))
}

// TestOpenAPIDescribesEveryRoute walks the real router: every route under
// /api/v1 (and the probes) is in the spec, and the spec describes no route
// the router does not have; each operation declares its path parameters.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	s := openAPISpec(t)
	router := (&httpapi.Handler{}).Routes()
	inRouter := map[string]bool{}
	require.NoError(t, chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/*")
		if strings.HasPrefix(route, "/api/v1/") || route == "/healthz" || route == "/readyz" {
			inRouter[method+" "+openAPIPath(route)] = true
		}
		return nil
	}))
	require.Greater(t, len(inRouter), 50)
	ops := s.operations()
	var missing, extra []string
	for r := range inRouter {
		if ops[r] == nil {
			missing = append(missing, r)
		}
	}
	for r := range ops {
		if !inRouter[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "routes of the router missing from %s", openAPIFile)
	require.Empty(t, extra, "operations of %s that the router does not have", openAPIFile)

	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([a-z_]+)\}`)
	for r, op := range ops {
		id, _ := op["operationId"].(string)
		require.NotEmpty(t, id, "%s: operationId", r)
		require.Empty(t, ids[id], "operationId %s of %s and %s", id, r, ids[id])
		ids[id] = r
		require.NotEmpty(t, op["summary"], "%s: summary", r)
		var want, got []string
		for _, m := range pathParam.FindAllStringSubmatch(r, -1) {
			want = append(want, m[1])
		}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			p := p.(map[string]any)
			if p["in"] == "path" {
				require.Equal(t, true, p["required"], "%s: path parameter %s", r, p["name"])
				got = append(got, p["name"].(string))
			}
		}
		require.Equal(t, want, got, "%s: path parameters", r)
		responses, _ := op["responses"].(map[string]any)
		require.NotEmpty(t, responses, "%s: responses", r)
		if strings.Contains(r, " /api/v1/") {
			require.Contains(t, responses, "401", "%s: every /api/v1 route answers 401 without a token", r)
		}
		if body, ok := op["requestBody"].(map[string]any); ok {
			if mt, ok := body["content"].(map[string]any)["application/json"].(map[string]any); ok {
				require.NotEmpty(t, mt["examples"], "%s: a write route has an example body", r)
				require.Contains(t, responses, "400", "%s: a JSON body may be refused", r)
			}
		}
	}
}

// example is one example of the spec and the schema it must satisfy.
type openAPIExample struct {
	where, schema string
	value         any
}

// examples finds every example of request and response bodies.
func (s *openAPIDoc) examples() []openAPIExample {
	var out []openAPIExample
	media := func(where string, base []string, content map[string]any) {
		for mt, v := range content {
			m := v.(map[string]any)
			if _, ok := m["schema"]; !ok {
				continue
			}
			schema := jsonPointer(append(append(slices.Clone(base), mt), "schema")...)
			if ex, ok := m["example"]; ok {
				out = append(out, openAPIExample{where + " " + mt, schema, ex})
			}
			exs, _ := m["examples"].(map[string]any)
			for name, e := range exs {
				out = append(out, openAPIExample{where + " " + mt + " " + name, schema, e.(map[string]any)["value"]})
			}
		}
	}
	for path, item := range s.paths() {
		for m, v := range item.(map[string]any) {
			op, ok := v.(map[string]any)
			if !ok || !slices.Contains(openAPIMethods, m) {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			if body, ok := op["requestBody"].(map[string]any); ok {
				media(where+" request", []string{"paths", path, m, "requestBody", "content"}, body["content"].(map[string]any))
			}
			for status, r := range op["responses"].(map[string]any) {
				if c, ok := r.(map[string]any)["content"].(map[string]any); ok {
					media(where+" "+status, []string{"paths", path, m, "responses", status, "content"}, c)
				}
			}
		}
	}
	comps := s.doc["components"].(map[string]any)
	for name, r := range comps["responses"].(map[string]any) {
		if c, ok := r.(map[string]any)["content"].(map[string]any); ok {
			media("response "+name, []string{"components", "responses", name, "content"}, c)
		}
	}
	for name, sch := range comps["schemas"].(map[string]any) {
		exs, _ := sch.(map[string]any)["examples"].([]any)
		for i, e := range exs {
			out = append(out, openAPIExample{fmt.Sprintf("schema %s example %d", name, i), jsonPointer("components", "schemas", name), e})
		}
	}
	return out
}

// TestOpenAPIExamplesValidate validates every example against its schema
// with a JSON Schema 2020-12 validator, and checks that the main read routes
// show an example answer.
func TestOpenAPIExamplesValidate(t *testing.T) {
	t.Parallel()
	s := openAPISpec(t)
	exs := s.examples()
	require.Greater(t, len(exs), 40)
	for _, ex := range exs {
		sch, err := s.schemaAt(ex.schema)
		require.NoError(t, err, "%s: schema %s", ex.where, ex.schema)
		// The validator wants JSON values as its own decoder makes them.
		b, err := json.Marshal(ex.value)
		require.NoError(t, err)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: the example does not validate:\n%v", ex.where, err)
		}
	}
	ops := s.operations()
	for _, r := range []string{"GET /api/v1/parcours/{id}", "GET /api/v1/parcours", "GET /api/v1/tasks", "GET /api/v1/reviews/{id}",
		"GET /api/v1/letters/{id}", "GET /api/v1/imports/{id}", "GET /api/v1/structures", "GET /api/v1/referents"} {
		ok := ops[r]["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["examples"]
		require.NotEmpty(t, ok, "%s: an example answer", r)
	}
}

// TestOpenAPISchemasRefuse: the compiled schemas are the spec's, not empty
// ones that accept anything.
func TestOpenAPISchemasRefuse(t *testing.T) {
	t.Parallel()
	s := openAPISpec(t)
	for ptr, bad := range map[string]string{
		jsonPointer("paths", "/api/v1/parcours/{id}", "get", "responses", "200", "content", "application/json", "schema"):       `{"id": "x"}`,
		jsonPointer("paths", "/api/v1/parcours", "post", "requestBody", "content", "application/json", "schema"):                `{"beneficiary_id": "B-1", "last_name": "Martin", "first_name": "Léa", "birth_date": "1990-05-04", "entered_at": "2026-11-02", "surname": "x"}`,
		jsonPointer("paths", "/api/v1/parcours/{id}/contracts", "post", "requestBody", "content", "application/json", "schema"): `{"kind": "cer", "signed_on": "2026-02-30", "starts_on": "2026-03-01", "ends_on": "2026-09-01"}`,
		jsonPointer("components", "schemas", "ActionOutcomeInput"):                                                              `{"ended_on": "2027-01-15", "category": "insertion_durable", "detail": "dropped_out"}`,
		jsonPointer("components", "schemas", "LetterRequestInput"):                                                              `{"kind": "notice", "address": "12 rue des Lilas\n14000 Caen"}`,
		jsonPointer("components", "responses", "NotFound", "content", "application/json", "schema"):                             `{"error": {"message": "Parcours introuvable."}}`,
	} {
		sch, err := s.schemaAt(ptr)
		require.NoError(t, err, ptr)
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		require.NoError(t, err)
		require.Error(t, sch.Validate(v), "%s accepts %s", ptr, bad)
	}
}

// TestOpenAPISchemasMatchGoTypes: each schema names exactly the JSON keys
// of the Go type behind it. A request body's keys are those decode accepts
// (json-tagged, not embedded, not api:"-"), and its schema refuses others;
// an answer's are those encoding/json writes. A field added to a type
// without the spec fails here, naming it.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	t.Parallel()
	s := openAPISpec(t)
	schemas := s.doc["components"].(map[string]any)["schemas"].(map[string]any)
	inputs := map[string]any{
		"IntakeInput": domain.Intake{}, "OrientationInput": domain.Orientation{}, "ContractInput": domain.Contract{},
		"ReorientationRequestInput": domain.ReorientationRequest{}, "ReorientationDecisionInput": domain.ReorientationDecision{},
		"ReassignmentInput": domain.Reassignment{}, "ObstaclesInput": domain.Obstacles{}, "ReviewInput": domain.Review{},
		"ActionInput": domain.Action{}, "ActionOutcomeInput": domain.ActionOutcome{}, "FollowUpAnswerInput": domain.FollowUpAnswer{},
		"ExitInput": domain.Exit{}, "RelanceInput": domain.Relance{}, "BreachInput": domain.Breach{}, "NoticeInput": domain.Notice{},
		"NoticeReceiptInput": domain.NoticeReceipt{}, "HearingInput": domain.Hearing{}, "ComplianceInput": domain.Compliance{},
		"LegitimateReasonInput": domain.LegitimateReason{}, "DecisionInput": domain.Decision{}, "DecisionNoticeInput": domain.DecisionNotice{},
		"AppealInput": domain.Appeal{}, "AppealDecisionInput": domain.AppealDecision{}, "RadiationDecisionInput": domain.RadiationDecision{},
		"LetterRequestInput": domain.LetterRequest{}, "LetterSendingInput": domain.LetterSending{}, "LetterReceiptInput": domain.LetterReceipt{},
		"LetterheadInput": domain.Letterhead{}, "StructureInput": domain.Structure{}, "ReferentInput": domain.Referent{},
	}
	outputs := map[string]any{
		"ParcoursView": domain.ParcoursView{}, "ParcoursSummary": domain.ParcoursSummary{}, "PayerView": domain.PayerView{},
		"PayerSituation": domain.PayerSituation{}, "ExitView": domain.ExitView{}, "Orientation": domain.Orientation{}, "Contract": domain.Contract{},
		"OrientationView": domain.OrientationView{}, "ContractView": domain.ContractView{}, "ActionView": domain.ActionView{},
		"FollowUpView": domain.FollowUpView{}, "DeadlineView": domain.DeadlineView{}, "TaskView": domain.TaskView{}, "EventView": domain.EventView{},
		"ReviewView": domain.ReviewView{}, "LetterView": domain.LetterView{}, "LetterRequest": domain.LetterRequest{}, "Letterhead": domain.Letterhead{},
		"LetterSettings": app.LetterSettings{}, "Structure": domain.Structure{}, "Referent": domain.Referent{},
		"ImportRun": postgres.ImportRun{}, "ImportReject": postgres.ImportReject{}, "IdentityConflict": postgres.IdentityConflict{},
		"PersonIdentity": postgres.PersonIdentity{}, "CampaignGroup": postgres.CampaignGroup{}, "CampaignPerson": postgres.CampaignPerson{},
		"DigestRecord": postgres.DigestRecord{}, "Preview": importer.Preview{}, "PreviewCount": importer.PreviewCount{},
		"PreviewLine": importer.PreviewLine{}, "Report": indicators.Report{}, "Indicator": indicators.Indicator{}, "Part": indicators.Part{},
	}
	check := func(name string, want []string, input bool) {
		sch, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("components/schemas/%s is missing", name)
			return
		}
		props, _ := sch["properties"].(map[string]any)
		var got []string
		for k := range props {
			got = append(got, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("components/schemas/%s has the keys %v; the Go type has %v", name, got, want)
		}
		if input && sch["additionalProperties"] != false {
			t.Errorf("components/schemas/%s: a request body refuses unknown keys (additionalProperties: false)", name)
		}
	}
	for name, v := range inputs {
		check(name, acceptedKeys(reflect.TypeOf(v)), true)
	}
	for name, v := range outputs {
		check(name, writtenKeys(reflect.TypeOf(v)), false)
	}
	// The campaign's answer is postgres.CampaignSummary plus the handler's own keys.
	check("CampaignSummary", append(writtenKeys(reflect.TypeOf(postgres.CampaignSummary{})), "total", "rules"), false)
}

// TestOpenAPIEnumsMatchTheDomain: the values the spec lists for a request
// field are the ones the domain accepts.
func TestOpenAPIEnumsMatchTheDomain(t *testing.T) {
	t.Parallel()
	s := openAPISpec(t)
	strs := func(v any) []string {
		var out []string
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Map {
			for _, k := range rv.MapKeys() {
				out = append(out, k.String())
			}
			return out
		}
		for i := range rv.Len() {
			out = append(out, rv.Index(i).String())
		}
		return out
	}
	enum := func(ptr string) []string {
		var v any = s.doc
		for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
			v = v.(map[string]any)[tok]
		}
		var out []string
		for _, e := range v.([]any) {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	details := map[string]bool{}
	for c, d := range domain.OutcomeDetails {
		details[c] = true
		found := false
		for _, rule := range s.doc["components"].(map[string]any)["schemas"].(map[string]any)["ActionOutcomeInput"].(map[string]any)["allOf"].([]any) {
			rule := rule.(map[string]any)
			if rule["if"].(map[string]any)["properties"].(map[string]any)["category"].(map[string]any)["const"] == c {
				found = true
				var got []string
				for _, e := range rule["then"].(map[string]any)["properties"].(map[string]any)["detail"].(map[string]any)["enum"].([]any) {
					got = append(got, e.(string))
				}
				require.ElementsMatch(t, d, got, "ActionOutcomeInput: details of %s", c)
			}
		}
		require.True(t, found, "ActionOutcomeInput: no rule for the category %s", c)
	}
	const sc = "/components/schemas/"
	for ptr, want := range map[string][]string{
		sc + "Status/enum":                                         strs(domain.Statuses),
		sc + "Track/enum":                                          strs(domain.Tracks),
		sc + "ActionInput/properties/kind/enum":                    domain.ActionKinds,
		sc + "ActionOutcomeInput/properties/category/enum":         strs(details),
		sc + "ExitInput/properties/reason/enum":                    domain.ExitReasons,
		sc + "FollowUpAnswerInput/properties/situation/enum":       domain.FollowUpSituations,
		sc + "FollowUpAnswerInput/properties/employment_kind/enum": append([]string{""}, domain.EmploymentKinds...),
		sc + "ObstaclesInput/properties/categories/items/enum":     domain.ObstacleCategories,
		sc + "LegitimateReasonInput/properties/reason/enum":        domain.LegitimateReasons,
		sc + "StructureInput/properties/kind/enum":                 strs(domain.StructureKinds),
		sc + "LetterRequestInput/properties/kind/enum":             strs(domain.LetterKinds),
		sc + "LetterSendingInput/properties/mode/enum":             strs(domain.LetterModes),
		sc + "NoticeInput/properties/mode/enum":                    strs(domain.LetterModes),
		sc + "ImportMapping/propertyNames/enum": func() []string {
			var fields []string
			for _, f := range importer.Fields {
				fields = append(fields, f.Field)
			}
			return fields
		}(),
		sc + "ContractInput/properties/kind/enum": {string(domain.ContractCER), string(domain.ContractPPAE), string(domain.ContractEngagement)},
		sc + "BreachInput/properties/kind/enum":   {string(domain.BreachRefusalContract), string(domain.BreachObligationsNotMet)},
		sc + "DecisionInput/properties/kind/enum": {string(domain.SanctionNone), string(domain.SanctionSuspension), string(domain.SanctionSuppression)},
	} {
		require.ElementsMatch(t, want, enum(ptr), ptr)
	}
}

// acceptedKeys are the keys decode (httpapi.go) takes from clients.
func acceptedKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || f.Tag.Get("api") == "-" || name == "" || name == "-" {
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

// writtenKeys are the keys encoding/json writes for a struct, embedded
// structs' included.
func writtenKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			keys = append(keys, writtenKeys(ft)...)
		case !f.IsExported():
		case name == "":
			keys = append(keys, f.Name)
		default:
			keys = append(keys, name)
		}
	}
	return keys
}

// validateAnswer checks a real answer against the schema the spec gives for
// the operation and status.
func validateOpenAPIAnswer(t *testing.T, method, path string, r response) {
	t.Helper()
	s := openAPISpec(t)
	status := fmt.Sprint(r.status)
	op, ok := s.operations()[method+" "+path]
	require.True(t, ok, "%s %s is not in the spec", method, path)
	resp, ok := op["responses"].(map[string]any)[status].(map[string]any)
	require.True(t, ok, "%s %s: status %s is not in the spec: %s", method, path, status, r.raw)
	ptr := []string{"paths", path, strings.ToLower(method), "responses", status, "content", "application/json", "schema"}
	if ref, ok := resp["$ref"].(string); ok { // a shared error answer
		ptr = append(strings.Split(strings.TrimPrefix(ref, "#/"), "/"), "content", "application/json", "schema")
	}
	sch, err := s.schemaAt(jsonPointer(ptr...))
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(r.raw))
	require.NoError(t, err, r.raw)
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s %s → %s: the answer does not validate against the spec:\n%v\n%s", method, path, status, err, r.raw)
	}
}

// TestOpenAPIRealAnswersValidate drives a parcours through the fixture and
// validates the answers of the main routes, errors included, against the
// spec's schemas.
func TestOpenAPIRealAnswersValidate(t *testing.T) {
	t.Parallel()
	type step struct {
		who, method, path, spec string
		body                    any
		status                  int
	}
	do := func(s step) response {
		t.Helper()
		r := call(t, s.who, s.method, s.path, s.body)
		require.Equal(t, s.status, r.status, "%s %s: %s", s.method, s.path, r.raw)
		validateOpenAPIAnswer(t, s.method, s.spec, r)
		return r
	}
	entered := today().AddDays(-10)
	r := do(step{"department", "POST", "/api/v1/parcours", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()), 201})
	pid := r.body["id"].(string)
	p := "/api/v1/parcours/" + pid
	do(step{"department", "POST", p + "/orientation", "/api/v1/parcours/{id}/orientation",
		map[string]any{"track": "social", "organism": "CCAS de Caen", "referent_id": "ref-1", "decided_on": today().String()}, 200})
	do(step{"referent:ref-1", "POST", p + "/contracts", "/api/v1/parcours/{id}/contracts",
		map[string]any{"kind": "contrat_engagement", "signed_on": today().String(), "starts_on": today().String(), "ends_on": today().AddMonths(6).String()}, 200})
	do(step{"referent:ref-1", "POST", p + "/actions", "/api/v1/parcours/{id}/actions",
		map[string]any{"name": "Atelier CV", "kind": "employment_support", "structure": "Tremplin", "starts_on": today().String(), "planned_end_on": today().AddMonths(2).String()}, 201})
	do(step{"referent:ref-1", "POST", p + "/obstacles", "/api/v1/parcours/{id}/obstacles",
		map[string]any{"categories": []string{"housing"}, "on": today().String()}, 200})
	do(step{"supervisor", "GET", p, "/api/v1/parcours/{id}", nil, 200})
	do(step{"admin", "GET", "/api/v1/parcours?limit=3", "/api/v1/parcours", nil, 200})
	do(step{"referent:ref-1", "GET", "/api/v1/tasks", "/api/v1/tasks", nil, 200})
	do(step{"supervisor", "GET", "/api/v1/tasks?status=open&limit=5", "/api/v1/tasks", nil, 200})
	do(step{"department", "GET", "/api/v1/reviews?limit=5", "/api/v1/reviews", nil, 200})
	do(step{"department", "GET", "/api/v1/indicators", "/api/v1/indicators", nil, 200})
	do(step{"department", "GET", "/api/v1/imports", "/api/v1/imports", nil, 200})
	do(step{"department", "GET", "/api/v1/import-mapping", "/api/v1/import-mapping", nil, 200})
	do(step{"department", "GET", "/api/v1/identity-conflicts", "/api/v1/identity-conflicts", nil, 200})
	do(step{"department", "GET", "/api/v1/letter-settings", "/api/v1/letter-settings", nil, 200})
	do(step{"department", "GET", "/api/v1/campaign/stock", "/api/v1/campaign/stock", nil, 200})
	do(step{"department", "GET", "/api/v1/campaign/stock/persons?limit=3", "/api/v1/campaign/stock/persons", nil, 200})
	do(step{"admin", "GET", "/api/v1/digest-sendings", "/api/v1/digest-sendings", nil, 200})
	do(step{"department", "GET", "/api/v1/structures?limit=3", "/api/v1/structures", nil, 200})
	do(step{"department", "GET", "/api/v1/referents?limit=3", "/api/v1/referents", nil, 200})
	do(step{"", "GET", "/healthz", "/healthz", nil, 200})

	// A sanction case (as TestEscalationOverHTTP opens one): relance, breach, the case, its notice.
	ep := "/api/v1/parcours/" + newOriented(t, today().AddMonths(-3), "professional", "ref-1")
	do(step{"referent:ref-1", "POST", ep + "/relances", "/api/v1/parcours/{id}/relances",
		map[string]any{"number": 1, "sent_on": today().String(), "channel": "letter"}, 200})
	do(step{"referent:ref-1", "POST", ep + "/breaches", "/api/v1/parcours/{id}/breaches",
		map[string]any{"kind": "refusal_contract", "facts": "Aucune réponse aux convocations.", "reported_on": today().String()}, 201})
	rid := strings.TrimPrefix(ep, "/api/v1/parcours/") + "-1"
	do(step{"department", "GET", "/api/v1/reviews?parcours_id=" + strings.TrimPrefix(ep, "/api/v1/parcours/"), "/api/v1/reviews", nil, 200})
	do(step{"referent:ref-1", "GET", "/api/v1/reviews/" + rid, "/api/v1/reviews/{id}", nil, 200})
	// Its notice as a letter: the letterhead first (TestLettersOverHTTP, not
	// parallel, may have saved one already; parallel tests run after it).
	if settings := do(step{"department", "GET", "/api/v1/letter-settings", "/api/v1/letter-settings", nil, 200}); settings.body["saved"] != true {
		do(step{"department", "PUT", "/api/v1/letter-settings/letterhead", "/api/v1/letter-settings/letterhead",
			map[string]any{"departement": "Département du Calvados", "service": "Direction de l'insertion", "address": "9 rue Saint-Laurent\n14035 Caen Cedex 1",
				"city": "Caen", "signatory_name": "Claire Dubois", "signatory_title": "La directrice de l'insertion"}, 200})
	}
	letter := do(step{"department", "POST", "/api/v1/reviews/" + rid + "/letters", "/api/v1/reviews/{id}/letters",
		map[string]any{"kind": "notice", "address": "Mme Léa Martin\n12 rue des Lilas\n14000 Caen", "planned_kind": "suspension", "planned_percent": 30, "planned_months": 1}, 201})
	lid := letter.body["id"].(string)
	do(step{"referent:ref-1", "GET", "/api/v1/letters/" + lid, "/api/v1/letters/{id}", nil, 200})
	do(step{"department", "GET", "/api/v1/reviews/" + rid + "/letters", "/api/v1/reviews/{id}/letters", nil, 200})
	do(step{"department", "POST", "/api/v1/letters/" + lid + "/sent", "/api/v1/letters/{id}/sent", map[string]any{"sent_on": today().String(), "mode": "recommande_ar"}, 200})
	do(step{"department", "POST", "/api/v1/letters/" + lid + "/received", "/api/v1/letters/{id}/received", map[string]any{"received_on": today().String()}, 200})
	do(step{"referent:ref-1", "POST", "/api/v1/reviews/" + rid + "/compliance", "/api/v1/reviews/{id}/compliance",
		map[string]any{"on": today().String(), "how": "obligation_met"}, 200})

	// The directory: a structure and a référent of its own.
	suffix := beneficiary(t)
	st := do(step{"department", "POST", "/api/v1/structures", "/api/v1/structures",
		map[string]any{"name": "CCAS OpenAPI " + suffix, "kind": "ccas", "address": "Place Jean Letellier, 14000 Caen"}, 201})
	sid := st.body["id"].(string)
	do(step{"supervisor", "GET", "/api/v1/structures/" + sid, "/api/v1/structures/{id}", nil, 200})
	do(step{"department", "PATCH", "/api/v1/structures/" + sid, "/api/v1/structures/{id}", map[string]any{"address": "1 place de l'Ancienne Boucherie"}, 200})
	ref := do(step{"department", "POST", "/api/v1/referents", "/api/v1/referents",
		map[string]any{"name": "Camille Roux " + suffix, "email": "camille.roux@ccas-caen.example", "structure_id": sid}, 201})
	refID := ref.body["id"].(string)
	do(step{"department", "GET", "/api/v1/referents/" + refID, "/api/v1/referents/{id}", nil, 200})
	do(step{"department", "PATCH", "/api/v1/referents/" + refID, "/api/v1/referents/{id}", map[string]any{"active": false}, 200})

	// An import of a list: its preview, then the import and its report.
	day := today().AddDays(-2).French()
	list := "Identifiant;Nom;Prénom;Date de naissance;Date d'entrée en droits et devoirs\n" +
		"OA-" + suffix + "-1;Lefèvre;Sophie;12/09/1979;" + day + "\n" +
		"OA-" + suffix + "-2;Benali;Karim;31/02/1988;" + day + "\n"
	do(step{"department", "POST", "/api/v1/imports?dry_run=true&name=liste.csv", "/api/v1/imports", list, 200})
	run := do(step{"department", "POST", "/api/v1/imports?name=liste.csv", "/api/v1/imports", list, 202})
	var report response
	require.Eventually(t, func() bool {
		report = call(t, "department", "GET", "/api/v1/imports/"+run.body["id"].(string), nil)
		return report.status == 200 && report.body["import"].(map[string]any)["status"] != "running"
	}, time.Minute, 100*time.Millisecond)
	validateOpenAPIAnswer(t, "GET", "/api/v1/imports/{id}", report)
	require.NotEmpty(t, report.body["rejects"], report.raw)

	// Errors have the common shape.
	do(step{"department", "POST", "/api/v1/parcours", "/api/v1/parcours", map[string]any{"beneficiary_id": "x", "surname": "y"}, 400})
	do(step{"", "GET", "/api/v1/tasks", "/api/v1/tasks", nil, 401})
	do(step{"referent:ref-1", "POST", "/api/v1/parcours", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()), 403})
	do(step{"referent:ref-2", "GET", p, "/api/v1/parcours/{id}", nil, 404})
	do(step{"department", "POST", "/api/v1/parcours", "/api/v1/parcours", intakeBody(r.body["beneficiary_id"].(string), entered.AddDays(1).String()), 409})
}
