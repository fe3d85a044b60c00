package httpx

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func TestEveryCodeHasItsStatus(t *testing.T) {
	codes := []string{domain.EINVALID, domain.ENOTFOUND, domain.ECONFLICT, domain.EUNAUTHORIZED,
		domain.EFORBIDDEN, domain.EUNAVAILABLE, domain.ETOOMANY, domain.EINTERNAL}
	require.Len(t, statuses, len(codes), "a code added to internal/domain needs its status here")
	for _, c := range codes {
		require.Contains(t, statuses, c)
	}
	require.Equal(t, http.StatusInternalServerError, Status(""), "an error that is not a domain error")
}
