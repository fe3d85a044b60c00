package auth

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestGuard(c *clock) *LoginGuard {
	g := NewLoginGuard()
	g.Now = c.now
	return g
}

func TestGuardLocksAnAccountOutWithDoublingDelays(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	g := newTestGuard(c)
	for i := 0; i < 5; i++ {
		if w := g.Wait("lea@cd.fr", "10.0.0.1"); w != 0 {
			t.Fatalf("attempt %d: wait %v before the limit", i+1, w)
		}
		g.Failed("lea@cd.fr", "10.0.0.1")
	}
	if w := g.Wait("lea@cd.fr", "10.0.0.1"); w != 0 {
		t.Fatalf("5 failures are allowed, got a wait of %v", w)
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		g.Failed("lea@cd.fr", "10.0.0.1")
		if w := g.Wait("lea@cd.fr", "10.0.0.2"); w != want {
			t.Fatalf("failure %d over the limit: wait %v, want %v (from any source)", i+1, w, want)
		}
		c.advance(want)
	}
	if w := g.Wait("paul@cd.fr", "10.0.0.9"); w != 0 {
		t.Fatalf("another account from another source waits %v", w)
	}
	for i := 0; i < 30; i++ {
		g.Failed("lea@cd.fr", "10.0.0.1")
	}
	if w := g.Wait("lea@cd.fr", "10.0.0.1"); w != 15*time.Minute {
		t.Fatalf("the delay is capped at 15 min, got %v", w)
	}
	c.advance(15 * time.Minute)
	g.Succeeded("lea@cd.fr")
	if w := g.Wait("lea@cd.fr", "10.0.0.3"); w != 0 {
		t.Fatalf("a success clears the account: wait %v", w)
	}
}

func TestGuardLocksASourceGuessingManyAccounts(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	g := newTestGuard(c)
	for i := 0; i < 30; i++ {
		g.Failed(string(rune('a'+i%26))+"@cd.fr", "10.0.0.66")
	}
	if w := g.Wait("new@cd.fr", "10.0.0.66"); w != 0 {
		t.Fatalf("30 failures from a source are allowed, got %v", w)
	}
	g.Failed("z@cd.fr", "10.0.0.66")
	if w := g.Wait("new@cd.fr", "10.0.0.66"); w != time.Second {
		t.Fatalf("the 31st failure locks the source: wait %v", w)
	}
	if w := g.Wait("new@cd.fr", "10.0.0.67"); w != 0 {
		t.Fatalf("another source waits %v", w)
	}
}

func TestGuardBoundsTheHashesComputedAtOnce(t *testing.T) {
	g := NewLoginGuard()
	g.QueueWait = 50 * time.Millisecond
	hashers := max(1, runtime.GOMAXPROCS(0))
	release := make(chan struct{})
	var started sync.WaitGroup
	var wg sync.WaitGroup
	started.Add(hashers)
	for i := 0; i < hashers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = g.Hash(context.Background(), func() { started.Done(); <-release })
		}()
	}
	started.Wait()
	// Every hasher busy: the next one waits QueueWait, then is refused.
	begin := time.Now()
	err := g.Hash(context.Background(), func() { t.Error("ran beyond the bound") })
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("want ErrBusy, got %v", err)
	}
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Fatalf("refused after %v, before the queue's wait", d)
	}
	close(release)
	wg.Wait()
	if p := g.PeakHashes(); p != hashers {
		t.Fatalf("peak %d hashes at once, want %d", p, hashers)
	}
	if err := g.Hash(context.Background(), func() {}); err != nil {
		t.Fatalf("a free hasher refused: %v", err)
	}
}

func TestGuardForgetsIdleEntriesWhenFull(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	g := newTestGuard(c)
	g.init()
	for i := 0; i < maxEntries; i++ {
		g.accounts[strconv.Itoa(i)] = &strikes{failures: 1, last: c.t}
	}
	c.advance(16 * time.Minute)
	g.Failed("new@cd.fr", "")
	if n := len(g.accounts); n != 1 {
		t.Fatalf("idle entries kept: %d", n)
	}
}
