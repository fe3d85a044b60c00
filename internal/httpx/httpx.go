// Package httpx holds what the JSON API (internal/httpapi) and the web pages
// (internal/web) share about HTTP: the one map from the domain's error codes
// to statuses, and a letter's PDF answer. It imports only the domain.
package httpx

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/parcours-rsa/parcours/internal/domain"
)

var statuses = map[string]int{
	domain.EINVALID:      http.StatusBadRequest,
	domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN:    http.StatusForbidden,
	domain.ENOTFOUND:     http.StatusNotFound,
	domain.ECONFLICT:     http.StatusConflict,
	domain.ETOOMANY:      http.StatusTooManyRequests,
	domain.EUNAVAILABLE:  http.StatusServiceUnavailable,
	domain.EINTERNAL:     http.StatusInternalServerError,
}

// Status is the HTTP status of an error code; an unknown code (an error
// that is not a *domain.Error) is an internal error.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ServeLetterPDF writes a letter's PDF with its headers: its digest as the
// ETag and Repr-Digest, and never stored by a cache.
func ServeLetterPDF(w http.ResponseWriter, pdf []byte, v domain.LetterView) {
	sum, _ := hex.DecodeString(v.SHA256)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="courrier-%s.pdf"`, v.Number))
	w.Header().Set("ETag", `"`+v.SHA256+`"`)
	w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(pdf)
}
