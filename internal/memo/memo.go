// Package memo keeps the results of costly reads for a while: figures
// computed from every parcours (the indicators, the workload per référent,
// a list's counts) that a minute's or a few seconds' delay does not change
// in substance, and whose computation, at 100,000 parcours, takes tens of
// milliseconds alone and several times that while a burst of deadlines
// takes the machine (issue 21 item 8). Concurrent requests for the same key
// wait for one computation; a failure is not kept; Invalidate drops every
// result (a write of the service's own). A value older than its TTL but
// not twice as old is still served while one computation in the background
// replaces it: requests that come often never wait for it.
package memo

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Cache keeps values by key for TTL. The zero value is not usable: New.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	mu  sync.Mutex
	m   map[K]*entry[V]
	gen uint64 // raised by Invalidate: a refresh begun before is not kept
}

type entry[V any] struct {
	done       chan struct{} // closed when the computation ended
	v          V
	at         time.Time
	err        error
	refreshing bool // a computation in the background will replace it (under mu)
}

// Max bounds the values kept: keys are the clients' (periods, scopes,
// filters).
const Max = 256

// New keeps values for ttl.
func New[K comparable, V any](ttl time.Duration) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, m: map[K]*entry[V]{}}
}

// TTL is how long a value is kept.
func (c *Cache[K, V]) TTL() time.Duration { return c.ttl }

func (c *Cache[K, V]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns the value of key computed less than TTL ago, and when it was
// computed, or computes it; a value less than twice TTL old is returned
// while a computation in the background replaces it. A computation does
// not run under the caller's cancellation (run): a request that gives up
// returns its context's error, and the others waiting for it go on.
func (c *Cache[K, V]) Get(ctx context.Context, key K, compute func(context.Context) (V, error)) (V, time.Time, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	if ok {
		select {
		case <-e.done:
			age := c.now().Sub(e.at)
			ok = e.err == nil && age < 2*c.ttl
			if ok && age >= c.ttl && !e.refreshing {
				e.refreshing = true
				go c.refresh(ctx, key, e, c.gen, compute)
			}
		default: // being computed: wait for it below
		}
	}
	if !ok {
		if len(c.m) >= Max {
			c.prune()
		}
		e = &entry[V]{done: make(chan struct{})}
		c.m[key] = e
		go func() {
			e.v, e.err = run(ctx, compute)
			e.at = c.now()
			close(e.done)
			if e.err != nil {
				c.mu.Lock()
				if c.m[key] == e {
					delete(c.m, key)
				}
				c.mu.Unlock()
			}
		}()
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.at, e.err
	case <-ctx.Done():
		var zero V
		return zero, time.Time{}, ctx.Err()
	}
}

// refresh computes key's value again in the background and puts it in
// place of e, unless the cache was invalidated since gen.
func (c *Cache[K, V]) refresh(ctx context.Context, key K, e *entry[V], gen uint64, compute func(context.Context) (V, error)) {
	v, err := run(ctx, compute)
	at := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[key] != e || c.gen != gen {
		return // invalidated, or computed again meanwhile
	}
	if err != nil {
		e.refreshing = false // the next request past the TTL tries again
		return
	}
	done := make(chan struct{})
	close(done)
	c.m[key] = &entry[V]{done: done, v: v, at: at}
}

// Timeout bounds a computation: it runs on its own, not under the
// cancellation of the request that started it (others may wait for it).
const Timeout = time.Minute

// run computes under a context of its own, with the request's values but
// neither its cancellation nor its deadline, bounded by Timeout; a panic
// is an error, so that nobody waits for a computation that never ends.
func run[V any](ctx context.Context, compute func(context.Context) (V, error)) (v V, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("memo: computation failed: %v", p)
		}
	}()
	return compute(ctx)
}

// Invalidate drops every value: the next Get computes again. Computations
// under way finish for those waiting on them, and are not kept.
func (c *Cache[K, V]) Invalidate() {
	c.mu.Lock()
	clear(c.m)
	c.gen++
	c.mu.Unlock()
}

// Len is the number of values kept or being computed.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// prune drops the values too old to serve and, while the cache is still
// full, others computed (those being computed stay). Called with mu held.
func (c *Cache[K, V]) prune() {
	now := c.now()
	for k, e := range c.m {
		select {
		case <-e.done:
			if len(c.m) >= Max || now.Sub(e.at) >= 2*c.ttl {
				delete(c.m, k)
			}
		default:
		}
	}
}
