package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// ValidateNIR checks a NIR (numéro d'inscription au répertoire): 15
// characters with its key, or 13 without it, as the CAF flux may send it
// (docs/cnaf-flux.md). Corsican départements 2A and 2B count as 19 and 18 in the
// key. The message never repeats the NIR itself.
func ValidateNIR(nir string) error {
	if len(nir) != 13 && len(nir) != 15 {
		return FieldError("nir", "Le NIR doit compter 13 caractères (sans clé) ou 15 (avec sa clé), sans espace.")
	}
	body := nir[:13]
	if body[0] != '1' && body[0] != '2' && body[0] != '3' && body[0] != '4' && body[0] != '7' && body[0] != '8' {
		return FieldError("nir", "Le NIR doit commencer par 1, 2, 3, 4, 7 ou 8.")
	}
	num, err := nirNumber(body)
	if err != nil {
		return err
	}
	if len(nir) == 15 {
		key, err := strconv.Atoi(nir[13:])
		if err != nil || key != NIRKey(num) {
			return FieldError("nir", "La clé du NIR ne correspond pas au numéro.")
		}
	}
	return nil
}

// NIRKey is the control key of a NIR's 13-digit number: 97 - (n mod 97).
func NIRKey(n uint64) int { return int(97 - n%97) }

func nirNumber(body string) (uint64, error) {
	digits := body
	switch strings.ToUpper(body[5:7]) {
	case "2A":
		digits = body[:5] + "19" + body[7:]
	case "2B":
		digits = body[:5] + "18" + body[7:]
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, FieldError("nir", "Le NIR ne doit contenir que des chiffres (ou 2A/2B pour la Corse).")
	}
	return n, nil
}

// NIRBody is the 13-character NIR without its key: the key is derived, so
// identity matching uses the body (docs/cnaf-flux.md: NIR may arrive without key).
func NIRBody(nir string) string {
	if len(nir) >= 13 {
		return nir[:13]
	}
	return nir
}

// MaskNIR shows only the sex digit and the birth year and month, for screens
// that must identify without exposing.
func MaskNIR(nir string) string {
	if len(nir) < 5 {
		return ""
	}
	return fmt.Sprintf("%s %s %s ** *** *** **", nir[:1], nir[1:3], nir[3:5])
}
