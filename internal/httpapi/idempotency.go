package httpapi

import (
	"net/http"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
)

// IdempotencyHeader names the key a client sends with a command so that
// sending it again (a retry after a timeout or a lost answer) does not
// apply it twice: the retry gets the first answer.
const IdempotencyHeader = "Idempotency-Key"

// idempotency passes the request's Idempotency-Key, checked, to the
// service (app.WithIdempotencyKey), scoped to the caller.
func (h *Handler) idempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, sent := r.Header[http.CanonicalHeaderKey(IdempotencyHeader)]
		if !sent {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) != 1 || !app.ValidIdempotencyKey(key[0]) {
			h.Error(w, r, domain.Errorf(domain.EINVALID,
				"En-tête %s invalide : attendu une seule valeur de 1 à %d caractères ASCII visibles (par exemple un UUID), la même pour chaque nouvel essai de la même demande.",
				IdempotencyHeader, app.MaxIdempotencyKey))
			return
		}
		ctx := app.WithIdempotencyKey(r.Context(), actorFrom(r.Context()).ID, key[0])
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
