package auth

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
)

// LoginGuard slows password guessing down and keeps a flood of logins from
// taking the service with it (issue 20: 400 wrong passwords, 100 at a time,
// made every request wait minutes and the process grow to 6.3 GiB, each
// argon2id hash taking 19 MiB).
//
//   - Failures are counted per account and per source address. Past
//     AccountFailures (or SourceFailures), each new failure locks the account
//     (or the source) out for a delay that doubles from BaseDelay up to
//     MaxDelay; a success clears the account's count.
//   - At most Hashers password hashes are computed at once; a login that
//     cannot start its hash within QueueWait is refused as busy.
//
// The counts live in this process (a service of several processes has one
// guard each). Entries idle for MaxDelay are forgotten, and at most
// maxEntries are kept, so a flood from many addresses cannot grow it for ever.
type LoginGuard struct {
	AccountFailures int
	SourceFailures  int
	BaseDelay       time.Duration
	MaxDelay        time.Duration
	QueueWait       time.Duration
	Now             func() time.Time

	once     sync.Once
	hashers  chan struct{}
	mu       sync.Mutex
	accounts map[string]*strikes
	sources  map[string]*strikes
	inFlight int
	peak     int
}

type strikes struct {
	failures int
	until    time.Time // locked out until then
	last     time.Time
}

const maxEntries = 100_000

// ErrBusy: too many logins are being checked at once.
var ErrBusy = errors.New("auth: too many logins at once")

// NewLoginGuard is the guard with the service's settings: 5 failures per
// account, 30 per source, delays from 1 s to 15 min, as many hashes at once
// as the process has cores, 2 s of queue.
func NewLoginGuard() *LoginGuard {
	return &LoginGuard{AccountFailures: 5, SourceFailures: 30, BaseDelay: time.Second,
		MaxDelay: 15 * time.Minute, QueueWait: 2 * time.Second}
}

func (g *LoginGuard) init() {
	g.once.Do(func() {
		if g.Now == nil {
			g.Now = time.Now
		}
		g.hashers = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
		g.accounts, g.sources = map[string]*strikes{}, map[string]*strikes{}
	})
}

// Wait is how long the account or the source must wait before its next
// attempt; 0 when it may try now.
func (g *LoginGuard) Wait(account, source string) time.Duration {
	g.init()
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Now()
	var wait time.Duration
	for _, s := range []*strikes{g.accounts[account], g.sources[source]} {
		if s != nil && s.until.After(now) {
			wait = max(wait, s.until.Sub(now))
		}
	}
	return wait
}

// Failed counts a failed attempt.
func (g *LoginGuard) Failed(account, source string) {
	g.init()
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Now()
	g.strike(g.accounts, account, g.AccountFailures, now)
	g.strike(g.sources, source, g.SourceFailures, now)
}

func (g *LoginGuard) strike(m map[string]*strikes, key string, allowed int, now time.Time) {
	if key == "" {
		return
	}
	s := m[key]
	if s == nil {
		if len(m) >= maxEntries {
			g.forget(m, now)
		}
		s = &strikes{}
		m[key] = s
	}
	s.failures++
	s.last = now
	if over := s.failures - allowed; over > 0 {
		delay := g.MaxDelay
		if over <= 30 && g.BaseDelay<<(over-1) < g.MaxDelay {
			delay = g.BaseDelay << (over - 1)
		}
		s.until = now.Add(delay)
	}
}

// forget drops the entries idle for MaxDelay; if none is, the oldest half.
func (g *LoginGuard) forget(m map[string]*strikes, now time.Time) {
	for k, s := range m {
		if now.Sub(s.last) > g.MaxDelay && !s.until.After(now) {
			delete(m, k)
		}
	}
	if len(m) < maxEntries {
		return
	}
	n := 0
	for k := range m {
		if n >= maxEntries/2 {
			break
		}
		delete(m, k)
		n++
	}
}

// Succeeded clears the account's failures (the source's stay: one good
// password does not excuse guessing others).
func (g *LoginGuard) Succeeded(account string) {
	g.init()
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.accounts, account)
}

// Hash runs fn (a password hash) once one of the hashers is free, or
// returns ErrBusy after QueueWait.
func (g *LoginGuard) Hash(ctx context.Context, fn func()) error {
	g.init()
	t := time.NewTimer(g.QueueWait)
	defer t.Stop()
	select {
	case g.hashers <- struct{}{}:
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	g.inFlight++
	g.peak = max(g.peak, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
		<-g.hashers
	}()
	fn()
	return nil
}

// PeakHashes is the most hashes ever computed at once (for tests and metrics).
func (g *LoginGuard) PeakHashes() int {
	g.init()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

// dummyHash is checked when an e-mail has no account, so that the answer
// takes as long as for a known one (issue 20: 2.5 ms against 85 ms told
// which e-mails have accounts).
// Made at the first need, not at every start of a process.
var dummyHash = sync.OnceValue(func() string { return HashPassword(NewSecret(16)) })

// CheckUnknown spends the time of a password check for an unknown account.
func CheckUnknown(password string) {
	_, _ = CheckPassword(dummyHash(), password)
}
