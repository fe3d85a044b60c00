package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/httpapi"
)

// TestCreateReferentIdempotencyKey: a référent without an e-mail (nothing
// unique) created again with the same Idempotency-Key is the first one;
// without a key, each request creates one.
func TestCreateReferentIdempotencyKey(t *testing.T) {
	suffix := beneficiary(t)
	st := post(t, "department", "/api/v1/structures", map[string]any{"name": "CCAS Idem " + suffix, "kind": "ccas", "address": "Place Jean Letellier, 14000 Caen"})
	require.Equal(t, 201, st.status, st.raw)
	ref := map[string]any{"name": "Camille Roux " + suffix, "structure_id": st.body["id"]}
	key := http.Header{httpapi.IdempotencyHeader: {uuid.NewString()}}

	first := callWith(t, "department", "POST", "/api/v1/referents", ref, key)
	require.Equal(t, 201, first.status, first.raw)
	retry := callWith(t, "department", "POST", "/api/v1/referents", ref, key)
	require.Equal(t, 201, retry.status, retry.raw)
	require.Equal(t, first.body["id"], retry.body["id"], "the retry is the first référent")
	require.Equal(t, first.body, retry.body)

	other := post(t, "department", "/api/v1/referents", ref)
	require.Equal(t, 201, other.status, other.raw)
	require.NotEqual(t, first.body["id"], other.body["id"], "without a key, a new référent")
}
