// Package memo keeps the results of costly reads for a while: figures
// computed from every parcours (the indicators, the workload per référent,
// a list's counts) that a minute's or a few seconds' delay does not change
// in substance, and whose computation, at 100,000 parcours, takes tens of
// milliseconds alone and several times that while a burst of deadlines
// takes the machine (issue 21 item 8). Concurrent requests for the same key
// wait for one computation; a failure is not kept; Invalidate drops every
// result (a write of the service's own).
package memo

import (
	"context"
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
}

type entry[V any] struct {
	done chan struct{} // closed when the computation ended
	v    V
	at   time.Time
	err  error
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
// computed, or computes it. The computation does not run under the
// caller's cancellation: a request that gives up does not fail the others
// waiting for it.
func (c *Cache[K, V]) Get(ctx context.Context, key K, compute func(context.Context) (V, error)) (V, time.Time, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	if ok {
		select {
		case <-e.done:
			ok = e.err == nil && c.now().Sub(e.at) < c.ttl
		default: // being computed: wait for it below
		}
	}
	if !ok {
		if len(c.m) >= Max {
			c.prune()
		}
		e = &entry[V]{done: make(chan struct{})}
		c.m[key] = e
		c.mu.Unlock()
		e.v, e.err = compute(context.WithoutCancel(ctx))
		e.at = c.now()
		close(e.done)
		if e.err != nil {
			c.mu.Lock()
			if c.m[key] == e {
				delete(c.m, key)
			}
			c.mu.Unlock()
		}
		return e.v, e.at, e.err
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

// Invalidate drops every value: the next Get computes again. Computations
// under way finish for those waiting on them, and are not kept.
func (c *Cache[K, V]) Invalidate() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// Len is the number of values kept or being computed.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// prune drops the values older than TTL and, while the cache is still
// full, others computed (those being computed stay). Called with mu held.
func (c *Cache[K, V]) prune() {
	now := c.now()
	for k, e := range c.m {
		select {
		case <-e.done:
			if len(c.m) >= Max || now.Sub(e.at) >= c.ttl {
				delete(c.m, k)
			}
		default:
		}
	}
}
