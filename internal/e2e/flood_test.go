//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
)

// rssMiB is a process's resident memory.
func rssMiB(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	require.NotNil(t, m)
	kb, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return float64(kb) / 1024
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// wrongLogin tries one wrong password, as a browser would: the login page
// for its CSRF cookie, then the form.
func wrongLogin(base, email string) (int, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/connexion")
	if err != nil {
		return 0, err
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return 0, fmt.Errorf("no CSRF field (status %d)", res.StatusCode)
	}
	res, err = c.PostForm(base+"/connexion", url.Values{"csrf": {string(m[1])}, "email": {email}, "password": {"devine"}})
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// TestRealBinaryLoginFlood: wrong passwords, 100 at a time, against the real
// binary (issue 20: 400 of them made every request wait minutes, /readyz
// answer 503 for 4 minutes, the process grow from 182 MiB to 6.3 GiB). Now
// the API keeps answering, /readyz stays ready, memory stays near its
// level, and the flood gets 429s. The figures are printed.
func TestRealBinaryLoginFlood(t *testing.T) {
	t.Parallel()
	attempts, parallel := pick(400, 2000), pick(100, 200)
	s := newService(t, map[string]string{"DATABASE_URL": pgtest.NewURL(t), "PARCOURS_DATA_DIR": t.TempDir()})
	s.start()
	s.account("--email", "cible@cd.fr", "--name", "Cible", "--role", "department")
	token := s.token("--name", "api", "--role", "department")
	pid := s.cmd.Process.Pid
	for i := 0; i < 3; i++ { // warm the pages and the API once
		_, _ = wrongLogin(s.base, fmt.Sprintf("echauffement-%d@cd.fr", i))
		status, _ := s.call(token, "GET", "/api/v1/tasks?limit=10", nil)
		require.Equal(t, 200, status)
	}
	before := rssMiB(t, pid)

	var done atomic.Bool
	var mu sync.Mutex
	var apiTimes []time.Duration
	var readyFailures atomic.Int64
	peak := before
	var watchers sync.WaitGroup
	watchers.Add(2)
	go func() { // the API and /readyz, as a référent and a probe would
		defer watchers.Done()
		for !done.Load() {
			begin := time.Now()
			status, _ := s.call(token, "GET", "/api/v1/tasks?limit=10", nil)
			d := time.Since(begin)
			mu.Lock()
			apiTimes = append(apiTimes, d)
			mu.Unlock()
			if status != 200 {
				readyFailures.Add(1)
			}
			if res, err := http.Get(s.base + "/readyz"); err != nil || res.StatusCode != 200 {
				readyFailures.Add(1)
			} else {
				res.Body.Close()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	go func() { // memory every 50 ms
		defer watchers.Done()
		for !done.Load() {
			if r := rssMiB(t, pid); r > peak {
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	statuses := map[int]int{}
	var errs atomic.Int64
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < attempts; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			email := "cible@cd.fr"
			if i%2 == 1 {
				email = fmt.Sprintf("inconnu-%d@cd.fr", i)
			}
			status, err := wrongLogin(s.base, email)
			if err != nil {
				errs.Add(1)
				return
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	flood := time.Since(begin)
	done.Store(true)
	watchers.Wait()

	mu.Lock()
	defer mu.Unlock()
	slices.Sort(apiTimes)
	require.NotEmpty(t, apiTimes)
	p := func(q float64) time.Duration { return apiTimes[min(len(apiTimes)-1, int(q*float64(len(apiTimes))))] }
	var sb strings.Builder
	fmt.Fprintf(&sb, "login flood: %d wrong passwords, %d at a time, in %.1f s; answers %v, %d errors\n", attempts, parallel, flood.Seconds(), statuses, errs.Load())
	fmt.Fprintf(&sb, "  API during the flood: %d calls, p50 %v, p95 %v, max %v; /readyz or API not OK: %d\n", len(apiTimes), p(0.5), p(0.95), apiTimes[len(apiTimes)-1], readyFailures.Load())
	fmt.Fprintf(&sb, "  RSS: %.1f MiB before, %.1f MiB peak during the flood\n", before, peak)
	t.Log(sb.String())

	require.Zero(t, errs.Load(), "every attempt answered")
	require.Positive(t, statuses[http.StatusTooManyRequests], "the flood is answered 429")
	require.Zero(t, readyFailures.Load(), "/readyz and the API stay available")
	require.Less(t, apiTimes[len(apiTimes)-1], 5*time.Second, "the API keeps answering (72 s before)")
	require.Less(t, peak-before, 256.0, "memory stays near its level (6.1 GiB more before)")
}
