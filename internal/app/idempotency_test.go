package app

import (
	"context"
	"strings"
	"testing"
)

// TestUpdateIDs: a request's idempotency key names its command's update,
// per command and caller; an update named by the call keeps its name; an
// import's commands drop the key of its request.
func TestUpdateIDs(t *testing.T) {
	ctx := context.Background()
	if id := updateID(ctx, "record_action"); id != "" {
		t.Fatalf("no key: %q, want none (the SDK makes one)", id)
	}
	keyed := WithIdempotencyKey(ctx, "token:a", "k1")
	if id := updateID(keyed, "record_action"); id != "idem:record_action:token:a/k1" {
		t.Fatalf("keyed: %q", id)
	}
	if updateID(keyed, "record_exit") == updateID(keyed, "record_action") {
		t.Fatal("one key, two commands: two updates")
	}
	if updateID(WithIdempotencyKey(ctx, "token:b", "k1"), "record_action") == updateID(keyed, "record_action") {
		t.Fatal("one key, two callers: two updates")
	}
	if id := updateID(withUpdateID(keyed, "letter-sent-1"), "send_notice"); id != "letter-sent-1" {
		t.Fatalf("named by the call: %q", id)
	}
	if id := updateID(WithoutIdempotencyKey(keyed), "record_action"); id != "" {
		t.Fatalf("an import's command: %q", id)
	}
	first, again := textID("p1", "w/u", 0), textID("p1", "w/u", 0)
	if textID("p1", "", 0) != "" || first != again || first == textID("p1", "w/u", 1) {
		t.Fatal("texts of a named update: the same ids on a retry, one per text")
	}
	for k, ok := range map[string]bool{"": false, "a b": false, "é": false, strings.Repeat("a", 129): false,
		"01J9Z3": true, strings.Repeat("a", 128): true, "x-y_z.1:2/3": true} {
		if ValidIdempotencyKey(k) != ok {
			t.Fatalf("ValidIdempotencyKey(%q) = %v", k, !ok)
		}
	}
}
