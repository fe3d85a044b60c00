package memo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/memo"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// clocked is a cache of a minute on a clock the test moves.
func clocked[V any]() (*memo.Cache[string, V], *clock) {
	clk := &clock{now: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
	c := memo.New[string, V](time.Minute)
	c.Now = clk.Now
	return c, clk
}

// The cache computes a value once for concurrent requests, keeps it for
// its TTL, computes it again after or once invalidated, and keeps no
// failure.
func TestCacheComputesOnceAndExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, clk := clocked[string]()

	var calls atomic.Int32
	release := make(chan struct{})
	compute := func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "rapport", nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v, at, err := c.Get(ctx, "2026", compute)
			require.NoError(t, err)
			require.Equal(t, "rapport", v)
			require.Equal(t, clk.Now(), at)
		})
	}
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.EqualValues(t, 1, calls.Load(), "one computation for concurrent requests")

	computed := clk.Now()
	clk.advance(59 * time.Second)
	_, at, err := c.Get(ctx, "2026", compute)
	require.NoError(t, err)
	require.EqualValues(t, 1, calls.Load(), "kept within its TTL")
	require.Equal(t, computed, at, "the value says when it was computed")

	// Past its TTL: served at once while it is computed again behind.
	clk.advance(time.Second)
	_, at, err = c.Get(ctx, "2026", compute)
	require.NoError(t, err)
	require.Equal(t, computed, at, "the value kept, served while it is computed again")
	require.Eventually(t, func() bool {
		_, at, err = c.Get(ctx, "2026", compute)
		return err == nil && at.Equal(clk.Now())
	}, 10*time.Second, time.Millisecond, "replaced by the computation in the background")
	require.EqualValues(t, 2, calls.Load(), "one computation in the background")

	// Twice its TTL: too old to serve, computed before the answer.
	clk.advance(2 * time.Minute)
	_, at, err = c.Get(ctx, "2026", compute)
	require.NoError(t, err)
	require.Equal(t, clk.Now(), at)
	require.EqualValues(t, 3, calls.Load())

	_, _, err = c.Get(ctx, "2025", compute)
	require.NoError(t, err)
	require.EqualValues(t, 4, calls.Load(), "another key, another value")

	c.Invalidate()
	_, _, err = c.Get(ctx, "2026", compute)
	require.NoError(t, err)
	require.EqualValues(t, 5, calls.Load(), "computed again once invalidated")

	failing := func(context.Context) (string, error) { calls.Add(1); return "", errors.New("base indisponible") }
	_, _, err = c.Get(ctx, "2024", failing)
	require.Error(t, err)
	_, _, err = c.Get(ctx, "2024", compute)
	require.NoError(t, err, "a failure is not kept")
	require.EqualValues(t, 7, calls.Load())
}

// A computation in the background begun before a write is not kept: the
// write's own change must show.
func TestCacheRefreshBeforeAWriteIsDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, clk := clocked[int]()
	value := atomic.Int32{}
	value.Store(1)
	started, release, finished := make(chan struct{}, 1), make(chan struct{}), make(chan struct{}, 2)
	slow := func(context.Context) (int, error) {
		defer func() { finished <- struct{}{} }()
		v := int(value.Load())
		started <- struct{}{}
		<-release
		return v, nil
	}
	close(release)
	v, _, err := c.Get(ctx, "k", slow)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	<-started

	release = make(chan struct{})
	clk.advance(90 * time.Second)
	v, _, err = c.Get(ctx, "k", slow) // stale: a refresh starts, reading 1
	require.NoError(t, err)
	require.Equal(t, 1, v)
	<-started
	value.Store(2)
	c.Invalidate() // the write
	close(release) // the refresh ends with the value before the write
	v, _, err = c.Get(ctx, "k", func(context.Context) (int, error) { return int(value.Load()), nil })
	require.NoError(t, err)
	require.Equal(t, 2, v, "the value after the write")
	<-finished // the first computation
	<-finished // the refresh's: it must not replace the value after the write
	require.Never(t, func() bool {
		v, _, err = c.Get(ctx, "k", slow)
		return err != nil || v != 2
	}, 200*time.Millisecond, 5*time.Millisecond)
}

// A request that gives up does not fail the computation others wait for,
// and the cache keeps a bounded number of values.
func TestCacheOutlivesACancelledRequestAndStaysBounded(t *testing.T) {
	t.Parallel()
	c := memo.New[string, int](time.Hour)
	started, release := make(chan struct{}), make(chan struct{})
	compute := func(ctx context.Context) (int, error) {
		close(started)
		<-release
		return 1, ctx.Err()
	}
	first, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Get(first, "k", compute)
		done <- err
	}()
	<-started
	waiter, cancelWaiter := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, _, err := c.Get(waiter, "k", compute)
		waited <- err
	}()
	cancel()
	cancelWaiter()
	require.ErrorIs(t, <-waited, context.Canceled, "a waiting request gives up with its own context")
	require.ErrorIs(t, <-done, context.Canceled, "so does the request that started the computation")
	close(release)
	v, _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })
	require.NoError(t, err, "the computation did not run under the cancelled context")
	require.Equal(t, 1, v, "and its value is kept")

	n := 0
	count := func(context.Context) (int, error) { n++; return n, nil }
	for i := range 1000 {
		_, _, err := c.Get(context.Background(), fmt.Sprint("filtre-", i), count)
		require.NoError(t, err)
	}
	require.Equal(t, 1000, n)
	require.LessOrEqual(t, c.Len(), memo.Max, "a bounded number of values")
}

// A computation that panics is an error for those waiting, not a value
// awaited for ever nor a crash of the process.
func TestCachePanicIsAnError(t *testing.T) {
	t.Parallel()
	c := memo.New[string, int](time.Hour)
	_, _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { panic("boom") })
	require.ErrorContains(t, err, "boom")
	v, _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 3, nil })
	require.NoError(t, err)
	require.Equal(t, 3, v)
}
