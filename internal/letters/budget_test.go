package letters

import (
	"strings"
	"testing"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func TestLetterOutputIsCapped(t *testing.T) {
	_, err := expand("{{.Manquement}}{{.Manquement}}", Data{Manquement: strings.Repeat("x", 40_000)})
	if err == nil || !strings.Contains(domain.ErrorMessage(err), "dépasse 64 Ko") {
		t.Fatalf("want the 64 KB cap, got %v", err)
	}
	if _, err := expand("{{.Manquement}}", Data{Manquement: strings.Repeat("x", 40_000)}); err != nil {
		t.Fatalf("under the cap: %v", err)
	}
}
