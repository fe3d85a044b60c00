package importer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"

	"github.com/parcours-rsa/parcours/internal/domain"
)

var listDay = domain.NewDate(2026, 3, 10)

func readRows(t *testing.T, data []byte, m Mapping) (CSVInfo, []Row, error) {
	t.Helper()
	var rows []Row
	info, err := ReadCSV(bytes.NewReader(data), m, listDay, func(r Row) error { rows = append(rows, r); return nil })
	return info, rows, err
}

// The columns of the CNAF contacts file (docs/cnaf-flux.md §3.1), with CRLF, as
// rdv-insertion's Drôme sample, plus the birth date a list needs to create
// a person, and a row with an accented name.
const contacts = "MATRICULE,ROLE PERSONNE,TYPE PERSONNE,NIR,NUMERO DEMANDE RSA,DATE DEMANDE RSA,DATE DEBUT DROITS - DEVOIRS,NOM RESPONSABLE DOSSIER,PRENOM RESPONSABLE DOSSIER,DATE NAISSANCE,NUMERO TELEPHONE DOSSIER,NUMERO TELEPHONE 2 DOSSIER,ADRESSE ELECTRONIQUE DOSSIER\r\n" +
	"2055990,DEMANDEUR,MONSIEUR,123456789012311,0102404105,01/01/2012,01/02/2012,DUPONT,JEAN,12/03/1983,698943255,0142000000, Jean.Dupont@Example.org \r\n" +
	"0346145,DEMANDEUR,MADAME,2820251108030,0102404106,01/01/2026,15/02/2026,LEFÈVRE,HÉLÈNE,05/02/1982,0142000000,0712345678,\r\n"

func TestReadCSVContactsFile(t *testing.T) {
	for name, data := range map[string][]byte{
		"utf-8 comma": []byte(contacts),
		"utf-8 BOM":   append([]byte{0xEF, 0xBB, 0xBF}, contacts...),
		"semicolon":   []byte(strings.ReplaceAll(contacts, ",", ";")),
		"windows-1252 BOM-less": func() []byte {
			b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(strings.ReplaceAll(contacts, ",", ";")))
			require.NoError(t, err)
			return b
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			info, rows, err := readRows(t, data, DefaultMapping())
			require.NoError(t, err)
			require.Len(t, rows, 2)
			if strings.Contains(name, "1252") {
				assert.Equal(t, "Windows-1252", info.Encoding)
			}
			r := rows[0]
			require.NoError(t, r.Err)
			p := r.Person
			assert.Equal(t, 2, r.Line)
			assert.Equal(t, "2055990", p.PayerNumber)
			assert.Equal(t, "CAF", p.Payer)
			assert.Equal(t, "123456789012311", p.NIR)
			assert.Equal(t, "DUPONT", p.LastName)
			assert.Equal(t, domain.NewDate(2012, 2, 1), p.EnteredOn)
			assert.Equal(t, "0698943255", p.Phone, "the leading 0 lost by Excel is restored")
			assert.Equal(t, "jean.dupont@example.org", p.Email)
			assert.True(t, p.Subject)
			assert.Equal(t, listDay, p.ReceivedOn)
			assert.Equal(t, domain.NewDate(1983, 3, 12), p.BirthDate)
			assert.NoError(t, p.Validate(listDay))

			q := rows[1].Person
			assert.Equal(t, "LEFÈVRE", q.LastName)
			assert.Equal(t, "HÉLÈNE", q.FirstName)
			assert.Equal(t, "0712345678", q.Phone, "a mobile number is preferred")
		})
	}
}

func TestReadCSVMappingAndRejects(t *testing.T) {
	m := DefaultMapping()
	m[FieldExternalID] = []string{"ID IODAS"}
	data := "\"ID IODAS\t\";Nom;Prénom;\"Date de\nNaissance\";Date d'entrée;NIR\n" +
		"A1;Martin;Léa;05/03/1982;2026-02-01;\n" +
		"A2;Petit;Jean;31/02/1990;01/02/2026;\n" + // impossible date
		"\n" + // blank lines are skipped
		"A3;\"Du\nBois\";Anne;1980-01-01;01/02/2026;1810693050030\n" +
		"A4;Moreau;Inès;01/01/1970;;\n"
	info, rows, err := readRows(t, []byte(data), m)
	require.NoError(t, err)
	assert.Equal(t, ';', info.Separator)
	assert.Equal(t, "ID IODAS", strings.TrimSpace(info.Columns[FieldExternalID]))
	require.Len(t, rows, 4)
	assert.NoError(t, rows[0].Err)
	assert.Equal(t, "A1", rows[0].Person.ExternalID)
	assert.Equal(t, domain.NewDate(1982, 3, 5), rows[0].Person.BirthDate)
	assert.Equal(t, 3, rows[0].Line, "the header spans two lines")
	require.Error(t, rows[1].Err)
	assert.Contains(t, rows[1].Err.Error(), "date de naissance")
	assert.Equal(t, 4, rows[1].Line)
	assert.NoError(t, rows[2].Err)
	assert.Equal(t, 6, rows[2].Line)
	assert.Equal(t, "Du Bois", rows[2].Person.LastName)
	// Without an entry date, the parcours starts on the received date, and
	// the report says so.
	require.NoError(t, rows[3].Err)
	assert.Equal(t, 8, rows[3].Line)
	assert.Equal(t, listDay, rows[3].Person.EnteredOn)
	require.Len(t, rows[3].Warnings, 1)
	assert.Contains(t, rows[3].Warnings[0], "date de réception")
}

func TestReadCSVRefusesWrongFiles(t *testing.T) {
	_, _, err := readRows(t, []byte("Nom,Prénom\nMartin,Léa\n"), DefaultMapping())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "colonnes manquantes")
	assert.Contains(t, err.Error(), "identification")
	// Every missing column is named.
	_, _, err = readRows(t, []byte("Date de naissance,Ville\n01/01/1980,Valence\n"), DefaultMapping())
	var mc *MissingColumnsError
	require.ErrorAs(t, err, &mc)
	assert.Len(t, mc.Missing, 3)
	for _, want := range []string{"« Nom »", "« Prénom »", "identification"} {
		assert.Contains(t, err.Error(), want)
	}

	_, _, err = readRows(t, []byte("<?xml version=\"1.0\"?><Racine/>"), DefaultMapping())
	assert.ErrorContains(t, err, "XML")
	_, _, err = readRows(t, []byte("PK\x03\x04\x00\x00binary"), DefaultMapping())
	assert.ErrorContains(t, err, "XLSX")
	_, _, err = readRows(t, []byte("\xD0\xCF\x11\xE0\x00\x00binary"), DefaultMapping())
	assert.ErrorContains(t, err, "binaires")
	_, _, err = readRows(t, nil, DefaultMapping())
	assert.ErrorContains(t, err, "vide")

	bad := DefaultMapping()
	delete(bad, FieldFirstName)
	_, _, err = readRows(t, []byte(contacts), bad)
	assert.ErrorContains(t, err, "obligatoire")
}

func TestNormalizeHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Date de\nNaissance":            "date-de-naissance",
		"ID IODAS\t":                    "id-iodas",
		"Rôle":                          "role",
		"N° allocataire":                "numero-allocataire",
		"Date d'entrée":                 "date-d-entree",
		"  DATE DEBUT DROITS - DEVOIRS": "date-debut-droits---devoirs",
	} {
		assert.Equal(t, want, NormalizeHeader(in), in)
	}
}

func TestNormalizeMatriculeAndPhone(t *testing.T) {
	for in, want := range map[string]string{
		"205599000000000": "2055990", "034614500000000": "0346145", "2055990": "2055990",
		"12345": "0012345", "000000012345678": "12345678", "JSCSASS": "JSCSASS",
	} {
		assert.Equal(t, want, domain.NormalizeMatricule(in), in)
	}
	assert.Equal(t, "0698943255", domain.NormalizePhone("698943255"))
	assert.Equal(t, "0612345678", domain.NormalizePhone("+33 6 12 34 56 78"))
	assert.Equal(t, "0612345678", domain.NormalizePhone("06.12.34.56.78"))
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(contacts))
	f.Add([]byte("nom;prenom;date de naissance;date d'entree;nir\nA;B;01/01/1980;01/01/2026;1810693050030\n"))
	f.Add([]byte("\xef\xbb\xbfnom,prenom,date de naissance,date d'entree,identifiant\n\"a\"\"b\",c,d,e,f\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		info, err := ReadCSV(bytes.NewReader(data), DefaultMapping(), listDay, func(r Row) error {
			if r.Line < last {
				t.Fatalf("line numbers go back: %d after %d", r.Line, last)
			}
			last = r.Line
			if r.Err == nil && r.Person.EnteredOn.IsZero() {
				t.Fatalf("a row without entry date was accepted")
			}
			return nil
		})
		if err != nil && info.Rows > 0 {
			t.Fatalf("rows given before the file was refused: %v", err)
		}
	})
}
