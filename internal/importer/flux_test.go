package importer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

var (
	yes, no = true, false
	fluxDay = domain.NewDate(2026, 3, 2)
)

func sampleFlux(enc string) GenFlux {
	return GenFlux{
		Encoding: enc, CreatedOn: fluxDay, Declared: -1,
		Households: []GenHousehold{
			{Matricule: "205599000000000", State: "2", Claim: domain.NewDate(2026, 2, 10), Persons: []GenPerson{
				{NIR: "2820251108030", LastName: "LEFÈVRE", FirstName: "HÉLÈNE", BirthDate: domain.NewDate(1982, 2, 5), Role: "DEM", Subject: &yes, Attached: domain.NewDate(2026, 2, 12)},
				{NIR: "1770393050005", LastName: "LEFÈVRE", FirstName: "FRANÇOIS", BirthDate: domain.NewDate(1977, 3, 9), Role: "CJT", Subject: &no, Attached: domain.NewDate(2026, 2, 12)},
			}},
			{Matricule: "034614500000000", State: "4", Reason: "70", Since: domain.NewDate(2026, 2, 1), Claim: domain.NewDate(2025, 6, 1), Persons: []GenPerson{
				{NIR: "273079940407891", LastName: "NOËL", FirstName: "ZOÉ", BirthDate: domain.NewDate(1973, 7, 1), Role: "DEM", Subject: &yes, Attached: domain.NewDate(2025, 6, 1)},
			}},
			{Matricule: "123456700000000", State: "5", Reason: "PCG", Since: domain.NewDate(2026, 2, 28), Claim: domain.NewDate(2024, 1, 1), Persons: []GenPerson{
				{LastName: "PETIT", FirstName: "JEAN", BirthDate: domain.NewDate(1990, 12, 31), Role: "DEM", Attached: domain.NewDate(2024, 1, 1)},
			}},
		},
	}
}

func encode(t testing.TB, g GenFlux) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteFlux(&b, g))
	return b.Bytes()
}

func readAll(t *testing.T, data []byte) (FluxInfo, []Household, error) {
	t.Helper()
	var hs []Household
	info, err := ReadFlux(bytes.NewReader(data), func(h Household) error { hs = append(hs, h); return nil })
	return info, hs, err
}

func TestReadFluxEncodings(t *testing.T) {
	for _, enc := range []string{"windows-1252", "ISO-8859-1", "UTF-8"} {
		t.Run(enc, func(t *testing.T) {
			data := encode(t, sampleFlux(enc))
			if enc != "UTF-8" {
				assert.NotContains(t, string(data), "È", "the file must really be in %s", enc)
				assert.Contains(t, string(data), "LEF\xc8VRE")
			}
			info, hs, err := readAll(t, data)
			require.NoError(t, err)
			assert.Equal(t, fluxDay, info.CreatedOn)
			assert.Equal(t, 3, info.Households)
			assert.Equal(t, 3, info.Declared)
			require.Len(t, hs, 3)

			h := hs[0]
			require.NoError(t, h.Err)
			assert.Equal(t, "CAF", h.Payer)
			assert.Equal(t, "2055990", h.Matricule, "the 7-digit number padded to 15 (docs/cnaf-flux.md §2.5)")
			assert.Equal(t, domain.PayerOpen, h.Situation.State)
			require.Len(t, h.Persons, 2, "a household with two people, one subject to droits et devoirs")
			p := h.Persons[0]
			assert.Equal(t, "LEFÈVRE", p.LastName)
			assert.Equal(t, "HÉLÈNE", p.FirstName)
			assert.Equal(t, "2820251108030", p.NIR, "13-character NIR kept as sent")
			assert.NoError(t, domain.ValidateNIR(p.NIR))
			assert.Equal(t, "DEM", p.Role, "role from the RSA block, not the PFA one")
			assert.True(t, p.Subject)
			assert.False(t, h.Persons[1].Subject)
			assert.Equal(t, "CJT", h.Persons[1].Role)
			assert.Equal(t, domain.NewDate(2026, 2, 12), p.EnteredOn, "latest of claim and attachment")
			assert.Equal(t, fluxDay, p.ReceivedOn)
			assert.Equal(t, 12, h.Line, "line of <InfosFoyerRSA>, after the 9-line header")

			s := hs[1].Situation
			assert.Equal(t, domain.PayerSuspended, s.State)
			assert.Equal(t, "70", s.Reason)
			assert.Equal(t, domain.NewDate(2026, 2, 1), s.Since)
			assert.Contains(t, s.Describe(), "action non engagée")
			assert.Equal(t, "NOËL", hs[1].Persons[0].LastName)

			c := hs[2]
			assert.Equal(t, domain.PayerClosed, c.Situation.State)
			assert.Equal(t, "PCG", c.Situation.Reason)
			assert.False(t, c.Persons[0].Subject, "no MontantCalculDroitRSAPersonne block: not subject")
			assert.Empty(t, c.Persons[0].NIR, "NIR is optional")
		})
	}
}

func TestReadFluxRefusesTruncatedFiles(t *testing.T) {
	data := encode(t, sampleFlux(""))
	for _, cut := range []int{len(data) / 3, len(data) / 2, bytes.Index(data, []byte("<TransmissionFlux>")), len(data) - 12} {
		_, _, err := readAll(t, data[:cut])
		require.Error(t, err, "cut at %d", cut)
		assert.Regexp(t, "tronqué|incomplet", err.Error())
	}
}

func TestReadFluxRejectsOneHouseholdNotTheFile(t *testing.T) {
	g := sampleFlux("")
	g.Households[1].State = "9"
	g.Declared = 7
	info, hs, err := readAll(t, encode(t, g))
	require.NoError(t, err)
	assert.Equal(t, 7, info.Declared, "trailer disagreeing with the body is read, not refused (quirk 2)")
	require.Len(t, hs, 3)
	assert.NoError(t, hs[0].Err)
	require.Error(t, hs[1].Err)
	assert.Contains(t, hs[1].Err.Error(), "état du dossier inconnu")
	assert.Greater(t, hs[1].Line, hs[0].Line)
	assert.NoError(t, hs[2].Err)
}

func TestReadFluxRefusesOtherFiles(t *testing.T) {
	for name, data := range map[string]string{
		"other root":   `<?xml version="1.0"?><Facture><Ligne/></Facture>`,
		"empty":        ``,
		"no header":    `<Racine><InfosFoyerRSA></InfosFoyerRSA></Racine>`,
		"not xml":      `NOM;PRENOM`,
		"bad encoding": `<?xml version="1.0" encoding="EBCDIC"?><Racine/>`,
	} {
		_, _, err := readAll(t, []byte(data))
		assert.Error(t, err, name)
	}
	_, _, err := readAll(t, []byte(`<Facture/>`))
	assert.True(t, errors.Is(err, ErrNotFlux))
}

// The fixture style of CdB's RSABEI_invalid.xml: no indentation, codes
// padded with spaces, self-closed empty elements, booleans as true/false.
func TestReadFluxFixtureQuirks(t *testing.T) {
	data := `<?xml version="1.0" encoding="windows-1252"?>
<Racine xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><IdentificationFlux><APPLIEME>CRI</APPLIEME><TYPEFLUX>I</TYPEFLUX><NATFLUX>D</NATFLUX><DTCREAFLUX>2022-03-04</DTCREAFLUX><HEUCREAFLUX>21:27:43.0000</HEUCREAFLUX><DTREF>2022-03-04</DTREF></IdentificationFlux>
<InfosFoyerRSA><IdentificationRSA><Organisme><FONORG>MSA</FONORG><NUMORG>521</NUMORG><MATRICULE>034614500000000</MATRICULE></Organisme><Partenaire><TYPEPARTE>CG  </TYPEPARTE><IDEPARTE>052</IDEPARTE></Partenaire><DemandeRSA><DTDEMRSA>2021-01-05</DTDEMRSA><NUMDEMRSA>01024041052</NUMDEMRSA></DemandeRSA></IdentificationRSA>
<Personne><Identification><NOM>DUPONT</NOM><NOMNAI>DUPONT</NOMNAI><PRENOM>ANNE</PRENOM><PRENOM2 /><DTNAI>1981-06-30</DTNAI><NIR>1810693050030</NIR><SEXE>2</SEXE></Identification><DossierCAF><TOPRESPDOS>false</TOPRESPDOS><DDRATDOS>2021-01-05</DDRATDOS></DossierCAF><Prestations><NATPREST>RSA</NATPREST><ROLEPERS>CJT </ROLEPERS></Prestations><Prestations><NATPREST>PFA</NATPREST><ROLEPERS>DEM</ROLEPERS></Prestations><MontantCalculDroitRSAPersonne><TOPPERSDRODEVORSA>true</TOPPERSDRODEVORSA></MontantCalculDroitRSAPersonne></Personne>
<PrestationRSA><SituationDossierRSA><EtatDossierRSA><ETATDOSRSA>3</ETATDOSRSA></EtatDossierRSA></SituationDossierRSA></PrestationRSA></InfosFoyerRSA>
<TransmissionFlux><NBTOTDOSRSATRANSM>00000001</NBTOTDOSRSATRANSM></TransmissionFlux></Racine>`
	_, hs, err := readAll(t, []byte(data))
	require.NoError(t, err)
	require.Len(t, hs, 1)
	h := hs[0]
	require.NoError(t, h.Err)
	assert.Equal(t, "MSA", h.Payer)
	assert.Equal(t, "0346145", h.Matricule, "leading zero kept: a string, not a number")
	assert.Equal(t, "CJT", h.Persons[0].Role, "trimmed, from the RSA block even when it comes first")
	assert.True(t, h.Persons[0].Subject, "xsd:boolean true")
	assert.Equal(t, domain.PayerSuspended, h.Situation.State)
	assert.Empty(t, h.Situation.Reason, "a state with no reason block has no reason (quirk 8)")
	assert.Equal(t, 3, h.Line)
}

func TestSyntheticFluxIsValid(t *testing.T) {
	g := Synthetic(50, 1, fluxDay)
	info, hs, err := readAll(t, encode(t, g))
	require.NoError(t, err)
	assert.Equal(t, 50, info.Households)
	nirs := map[string]bool{}
	for _, h := range hs {
		require.NoError(t, h.Err)
		for _, p := range h.Persons {
			require.NoError(t, p.Validate(fluxDay), "line %d", h.Line)
			assert.False(t, nirs[p.NIR], "NIR unique")
			nirs[p.NIR] = true
		}
	}
	assert.Len(t, nirs, 55)
}

func FuzzReadFlux(f *testing.F) {
	f.Add(encode(f, sampleFlux("")))
	f.Add(encode(f, sampleFlux("UTF-8")))
	f.Add([]byte(`<Racine><IdentificationFlux><DTCREAFLUX>2026-01-01</DTCREAFLUX></IdentificationFlux><TransmissionFlux/></Racine>`))
	f.Add([]byte(`<?xml version="1.0" encoding="iso-8859-1"?><Racine>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		info, err := ReadFlux(bytes.NewReader(data), func(h Household) error {
			n++
			if h.Err == nil && len(h.Persons) == 0 {
				t.Fatalf("household without people and without error")
			}
			for _, p := range h.Persons {
				if !strings.HasPrefix(p.PayerNumber, "") || p.Line != h.Line {
					t.Fatalf("person line %d differs from household line %d", p.Line, h.Line)
				}
			}
			return nil
		})
		if n != info.Households {
			t.Fatalf("%d households given, %d counted", n, info.Households)
		}
		if err == nil && !bytes.Contains(data, []byte("TransmissionFlux")) {
			t.Fatalf("a file without trailer was accepted")
		}
	})
}

// A byte that is no character in the declared encoding is reported with its
// line and column, and the flux refused: never stored as a control
// character (0x81 decodes to U+0081 in Windows-1252's WHATWG table).
func TestReadFluxInvalidByte(t *testing.T) {
	for _, enc := range []string{"windows-1252", "ISO-8859-1"} {
		data := encode(t, sampleFlux(enc))
		i := bytes.Index(data, []byte("LEF\xc8VRE"))
		require.Positive(t, i)
		data[i+1] = 0x81
		line := bytes.Count(data[:i], []byte("\n")) + 1
		col := i - bytes.LastIndexByte(data[:i], '\n') + 1
		_, _, err := readAll(t, data)
		require.Error(t, err, enc)
		assert.Contains(t, err.Error(), "0x81", enc)
		assert.Contains(t, err.Error(), fmt.Sprintf("ligne %d, colonne %d", line, col), enc)
	}
	// In a UTF-8 flux: a byte that is not UTF-8, a control character.
	for b, want := range map[byte]string{0x81: "octet 0x81 invalide en UTF-8", 0x01: "caractère de contrôle U+0001"} {
		data := encode(t, sampleFlux("UTF-8"))
		i := bytes.Index(data, []byte("LEF"))
		require.Positive(t, i)
		data[i+1] = b
		line := bytes.Count(data[:i], []byte("\n")) + 1
		col := i - bytes.LastIndexByte(data[:i], '\n') + 1
		_, _, err := readAll(t, data)
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		assert.Contains(t, err.Error(), fmt.Sprintf("ligne %d, colonne %d", line, col))
	}
}
