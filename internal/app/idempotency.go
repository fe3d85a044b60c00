package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// textSpace names the texts of a named update (textID).
var textSpace = uuid.MustParse("6f1c3a52-9d0e-4e7b-8a51-2b7f0c9e4d13")

// textID is the id of the nth text of the update key names on a parcours:
// the same for every retry of a named update, "" (a new id) for an unnamed
// one.
func textID(parcoursID, key string, n int) string {
	if key == "" {
		return ""
	}
	return uuid.NewSHA1(textSpace, fmt.Appendf(nil, "%s\x00%s\x00%d", parcoursID, key, n)).String()
}

type idempotencyKey struct{}

// MaxIdempotencyKey bounds an idempotency key: a UUID or a ULID fits many
// times.
const MaxIdempotencyKey = 128

// ValidIdempotencyKey says whether k can be an idempotency key: 1 to
// MaxIdempotencyKey visible ASCII characters.
func ValidIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '!' || k[i] > '~' {
			return false
		}
	}
	return true
}

// WithIdempotencyKey makes the commands sent with ctx idempotent: the same
// command sent again with the same key (an HTTP client retrying after a
// timeout, a proxy replaying a request) gets the first one's answer instead
// of being applied twice. scope is who sends it (the actor's id), so that
// two clients choosing the same key never meet. The key becomes the
// workflow update's ID (see update): the workflow keeps the IDs of its last
// applied updates across continue-as-new (workflows.onceOnly), and an
// update still running when its retry arrives is waited for.
func WithIdempotencyKey(ctx context.Context, scope, key string) context.Context {
	if key == "" {
		return ctx
	}
	return context.WithValue(ctx, idempotencyKey{}, idempotency{scope: scope, key: key})
}

type idempotency struct{ scope, key string }

// WithoutIdempotencyKey is ctx without an idempotency key: for what sends
// many commands from one request (an import), whose key names the request,
// not each command.
func WithoutIdempotencyKey(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, nil)
}

// createOnce runs create (which creates a record no workflow remembers,
// and returns its id) once per idempotency key of ctx and route: a retry
// gets the first record's id, and replay true. Without a key, create runs.
func (s *Service) createOnce(ctx context.Context, route string, create func(context.Context) (string, error)) (id string, replay bool, err error) {
	k, ok := ctx.Value(idempotencyKey{}).(idempotency)
	if !ok {
		id, err = create(ctx)
		return id, false, err
	}
	return s.DB.CreateOnce(ctx, k.scope, route, k.key, create)
}

// updateID is the ID of the update name sent with ctx: the one the call
// named (withUpdateID), else one made of the request's idempotency key and
// the update's name (one key reused for another command is another
// update), else none (the SDK makes a random one).
func updateID(ctx context.Context, name string) string {
	if id := updateIDFrom(ctx); id != "" {
		return id
	}
	if k, ok := ctx.Value(idempotencyKey{}).(idempotency); ok {
		return "idem:" + name + ":" + k.scope + "/" + k.key
	}
	return ""
}
