// Package metrics exposes the service's Prometheus metrics: the Temporal
// SDK's worker and client metrics, HTTP request latency by route, import
// outcomes, and task counts read from PostgreSQL at each scrape.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// Metrics is one process's registry.
type Metrics struct {
	Registry *prometheus.Registry
	http     *prometheus.HistogramVec
	imports  *prometheus.CounterVec
	temporal *temporalMetrics
}

// New is a registry with the Go runtime and process collectors, the HTTP
// and import metrics, and, when pool is not nil, the task counts queried
// from PostgreSQL on each scrape.
func New(pool *pgxpool.Pool, logger *slog.Logger) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parcours_http_request_duration_seconds",
			Help:    "Durée des requêtes HTTP, par méthode, motif de route et statut.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		imports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_import_persons_total",
			Help: "Personnes traitées par les imports, par résultat (created, updated, unchanged, rejected…).",
		}, []string{"outcome"}),
	}
	m.temporal = &temporalMetrics{reg: m.Registry, families: map[string]*family{}}
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.http, m.imports)
	if pool != nil {
		m.Registry.MustRegister(&taskCollector{pool: pool, logger: logger})
	}
	return m
}

// Handler serves the exposition format (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Middleware observes each request's duration under its chi route pattern
// (never the raw path: identifiers would explode the series).
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		m.http.WithLabelValues(r.Method, route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
	})
}

// ImportCounted counts one imported person's outcome (importer's Counted hook).
func (m *Metrics) ImportCounted(outcome string) { m.imports.WithLabelValues(outcome).Inc() }

// Temporal is the SDK metrics handler to give client.Options.MetricsHandler.
func (m *Metrics) Temporal() client.MetricsHandler { return &temporalHandler{m: m.temporal} }

// taskCollector counts tasks by kind and status, and open overdue tasks,
// with one query per scrape. Every process reports the same, global figures.
type taskCollector struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

var (
	tasksDesc   = prometheus.NewDesc("parcours_tasks", "Tâches dans la base, par type et statut (toutes instances confondues).", []string{"kind", "status"}, nil)
	overdueDesc = prometheus.NewDesc("parcours_tasks_overdue", "Tâches ouvertes en retard, par type.", []string{"kind"}, nil)
	dbUpDesc    = prometheus.NewDesc("parcours_database_up", "1 si PostgreSQL a répondu à la collecte, 0 sinon.", nil, nil)
)

func (c *taskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tasksDesc
	ch <- overdueDesc
	ch <- dbUpDesc
}

func (c *taskCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rows, err := c.pool.Query(ctx, `
		SELECT kind, status, count(*), count(*) FILTER (WHERE status = 'open' AND `+postgres.TaskOverdue("tasks")+`)
		FROM tasks GROUP BY kind, status ORDER BY kind, status`)
	if err == nil {
		overdue := map[string]int64{}
		var kinds []string
		for rows.Next() {
			var kind, status string
			var n, late int64
			if err = rows.Scan(&kind, &status, &n, &late); err != nil {
				break
			}
			ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(n), kind, status)
			if _, ok := overdue[kind]; !ok {
				kinds = append(kinds, kind)
			}
			overdue[kind] += late
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		for _, k := range kinds {
			ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, float64(overdue[k]), k)
		}
	}
	up := 1.0
	if err != nil {
		up = 0
		c.logger.Warn("metrics: task counts", "error", err)
	}
	ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, up)
}

// temporalMetrics maps the SDK's counters, gauges and timers onto
// Prometheus vectors, one per metric name. A name's label set is fixed by
// its first use; later tags outside it are dropped and missing ones empty,
// so that every family stays consistent.
type temporalMetrics struct {
	reg      *prometheus.Registry
	mu       sync.Mutex
	families map[string]*family
}

type family struct {
	labels    []string
	counter   *prometheus.CounterVec
	gauge     *prometheus.GaugeVec
	histogram *prometheus.HistogramVec
}

const (
	kindCounter = iota
	kindGauge
	kindTimer
)

func (t *temporalMetrics) family(name string, kind int, tags map[string]string) (*family, []string) {
	name = sanitize(name)
	switch {
	case kind == kindTimer:
		name += "_seconds"
	case kind == kindCounter && !strings.HasSuffix(name, "_total"):
		name += "_total"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.families[name]
	if !ok {
		f = &family{}
		for k := range tags {
			f.labels = append(f.labels, sanitize(k))
		}
		slices.Sort(f.labels)
		f.labels = slices.Compact(f.labels)
		var c prometheus.Collector
		switch kind {
		case kindCounter:
			f.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name}, f.labels)
			c = f.counter
		case kindGauge:
			f.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name}, f.labels)
			c = f.gauge
		default:
			f.histogram = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK timer " + name,
				Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, f.labels)
			c = f.histogram
		}
		if err := t.reg.Register(c); err != nil {
			// The name clashes with another kind: keep the metric unexported.
			f.counter, f.gauge, f.histogram = nil, nil, nil
		}
		t.families[name] = f
	}
	sanitized := make(map[string]string, len(tags))
	for k, v := range tags {
		sanitized[sanitize(k)] = v
	}
	values := make([]string, len(f.labels))
	for i, l := range f.labels {
		values[i] = sanitized[l]
	}
	return f, values
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

type temporalHandler struct {
	m    *temporalMetrics
	tags map[string]string
}

func (h *temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &temporalHandler{m: h.m, tags: merged}
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

func (h *temporalHandler) Counter(name string) client.MetricsCounter {
	f, values := h.m.family(name, kindCounter, h.tags)
	if f.counter == nil {
		return counterFunc(func(int64) {})
	}
	c := f.counter.WithLabelValues(values...)
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

func (h *temporalHandler) Gauge(name string) client.MetricsGauge {
	f, values := h.m.family(name, kindGauge, h.tags)
	if f.gauge == nil {
		return gaugeFunc(func(float64) {})
	}
	g := f.gauge.WithLabelValues(values...)
	return gaugeFunc(g.Set)
}

func (h *temporalHandler) Timer(name string) client.MetricsTimer {
	f, values := h.m.family(name, kindTimer, h.tags)
	if f.histogram == nil {
		return timerFunc(func(time.Duration) {})
	}
	o := f.histogram.WithLabelValues(values...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}
