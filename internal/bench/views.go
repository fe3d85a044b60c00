package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/config"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpapi"
	"github.com/parcours-rsa/parcours/internal/web"
)

// site is the service's HTTP surface (the API and the web pages on one
// router, as `parcours serve` mounts them) on a loopback listener, with
// credentials as a supervisor, the département and a référent get them.
type site struct {
	server     *httptest.Server
	uncached   *httptest.Server // the same routes, every figure computed at each request
	client     *http.Client
	supervisor string // API token
	department string // API token
	referent   string // API token of référent "ref-1"
	session    string // web session cookie of a supervisor account
}

func startSite(ctx context.Context, r *rig) (*site, error) {
	api := &httpapi.Handler{Service: r.svc, Logger: r.o.Logger}
	router := api.Routes()
	pages := &web.Handler{Service: r.svc, Logger: r.o.Logger}
	if err := pages.Routes(router); err != nil {
		return nil, err
	}
	s := &site{server: httptest.NewServer(router)}
	bare := *r.svc
	bare.Caches = nil
	uncached := (&httpapi.Handler{Service: &bare, Logger: r.o.Logger}).Routes()
	if err := (&web.Handler{Service: &bare, Logger: r.o.Logger}).Routes(uncached); err != nil {
		s.server.Close()
		return nil, err
	}
	s.uncached = httptest.NewServer(uncached)
	s.client = s.server.Client()
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var err error
	if s.supervisor, err = r.svc.CreateTokenWith(ctx, app.NewToken{Name: "banc d'essai (superviseur)", Role: domain.RoleSupervisor, AllStructures: true}); err != nil {
		s.server.Close()
		return nil, err
	}
	if s.department, err = r.svc.CreateToken(ctx, "banc d'essai (département)", domain.RoleDepartment, ""); err != nil {
		s.server.Close()
		return nil, err
	}
	if s.referent, err = r.svc.CreateToken(ctx, "banc d'essai (référent)", domain.RoleReferent, "ref-1"); err != nil {
		s.server.Close()
		return nil, err
	}
	email := "superviseur@banc.parcours.local"
	if _, err := r.svc.CreateAccount(ctx, domain.System, app.NewAccount{Email: email, Name: "Superviseur du banc d'essai",
		Password: auth.NewSecret(16), Role: domain.RoleSupervisor, AllStructures: true}); err != nil {
		s.server.Close()
		return nil, err
	}
	if s.session, err = r.svc.LoginIdentity(ctx, email, "", "bench"); err != nil {
		s.server.Close()
		return nil, err
	}
	return s, nil
}

func (s *site) close() {
	s.server.Close()
	s.uncached.Close()
}

// view is one page or endpoint whose latency the bench samples.
type view struct {
	name string
	path func() string
	web  bool // session cookie; otherwise the supervisor's API token
	// uncached: asked of the routes whose service keeps no figures
	// (app.Caches): what a request costs when the figures are not kept.
	uncached bool
}

// views are the supervisor's overdue list (API and dashboard page), a
// dossier page (a different dossier each time, among ids) and the
// indicators endpoint.
func (s *site) views(ids []string) []view {
	rnd := rand.New(rand.NewPCG(uint64(len(ids)), 8))
	fixed := func(p string) func() string { return func() string { return p } }
	return []view{
		{name: "overdue list GET /api/v1/tasks?status=overdue", path: fixed("/api/v1/tasks?status=overdue")},
		{name: "supervisor dashboard GET /tableau-de-bord", path: fixed("/tableau-de-bord"), web: true},
		{name: "dossier page GET /dossiers/{id}", path: func() string { return "/dossiers/" + ids[rnd.IntN(len(ids))] }, web: true},
		{name: "indicators GET /api/v1/indicators", path: fixed("/api/v1/indicators")},
		// The same, computed at each request: what a cache miss costs.
		{name: "supervisor dashboard, counts computed (no cache) GET /tableau-de-bord", path: fixed("/tableau-de-bord"), web: true, uncached: true},
		{name: "indicators computed (no cache) GET /api/v1/indicators", path: fixed("/api/v1/indicators"), uncached: true},
	}
}

// get requests one view and returns how long the whole answer took.
func (s *site) get(ctx context.Context, v view) (time.Duration, error) {
	base := s.server.URL
	if v.uncached {
		base = s.uncached.URL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+v.path(), nil)
	if err != nil {
		return 0, err
	}
	if v.web {
		req.AddCookie(&http.Cookie{Name: "parcours_session", Value: s.session})
	} else {
		req.Header.Set("Authorization", "Bearer "+s.supervisor)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s : statut %d", v.name, resp.StatusCode)
	}
	return took, nil
}

// sample requests the views in turn, one at a time (one user), until stop
// says so or each view has max samples; the views without the caches once
// every uncachedEvery only.
func (s *site) sample(ctx context.Context, vs []view, max int, stop func() bool) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(vs))
	var last time.Time // of the views without the caches
	for round := 0; round < max && !stop(); round++ {
		uncached := time.Since(last) >= uncachedEvery
		if uncached {
			last = time.Now()
		}
		for i, v := range vs {
			if v.uncached && !uncached {
				continue
			}
			d, err := s.get(ctx, v)
			if err != nil {
				return out, err
			}
			out[i] = append(out[i], d)
		}
	}
	return out, nil
}

// uncachedEvery is how often the views without the caches are sampled: a
// recount of the counts kept happens at most once per TTL per scope in the
// service (config.DefaultCountsCache), and a recount in a loop (several a
// second, each hundreds of milliseconds of PostgreSQL at 100,000 parcours)
// took the CPU the burst it measures needs.
const uncachedEvery = config.DefaultCountsCache

// quantile is the nearest-rank q-quantile of ds, in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

// addViews reports p50 and p95 of each view's samples.
func (rep *Report) addViews(o Options, when string, n int, vs []view, samples [][]time.Duration, target bool, extra string) {
	for i, v := range vs {
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.50}, {"p95", 0.95}} {
			r := Result{Name: fmt.Sprintf("views %s: %s %s", when, v.name, q.name), N: n, Value: quantile(samples[i], q.q), Unit: "ms",
				Note: fmt.Sprintf("%d requests, one client at a time, through the HTTP handlers on loopback", len(samples[i])) + extra}
			if v.uncached {
				r.Note += fmt.Sprintf("; without the caches, one request every %s at most", uncachedEvery)
			}
			if target && q.name == "p95" && !v.uncached { // every view, the indicators included (issue 21)
				r.Target = "< 100 ms p95 during the burst"
			}
			rep.add(o.Out, r)
		}
	}
}
