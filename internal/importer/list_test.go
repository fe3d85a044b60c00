package importer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// workbook builds an XLSX whose sheets hold the given rows; a float64 cell
// is stored as a number (a date typed in Excel is a serial number).
func workbook(t *testing.T, sheets map[string][][]any, order ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range order {
		if i == 0 {
			require.NoError(t, f.SetSheetName("Sheet1", name))
		} else {
			_, err := f.NewSheet(name)
			require.NoError(t, err)
		}
		for r, row := range sheets[name] {
			cell, err := excelize.CoordinatesToCellName(1, r+1)
			require.NoError(t, err)
			require.NoError(t, f.SetSheetRow(name, cell, &row))
		}
	}
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	return buf.Bytes()
}

func readXLSX(t *testing.T, data []byte, sheet string) (CSVInfo, []Row, error) {
	t.Helper()
	var rows []Row
	info, err := ReadXLSX(bytes.NewReader(data), sheet, DefaultMapping(), listDay, func(r Row) error { rows = append(rows, r); return nil })
	return info, rows, err
}

func TestReadXLSX(t *testing.T) {
	// 45689 is 1 February 2025 in Excel's 1900 system; 30387 is 12 March 1983.
	header := []any{"NIR *", "  Nom  *", "Prénom*", "Date de naissance", "Date d'entrée en droits et devoirs *", "Téléphone", "Adresse électronique",
		"Parcours d'orientation", "Structure d'accompagnement", "Date de la décision d'orientation", "Type de contrat",
		"Date de début du contrat", "Date de fin du contrat", "Accompagné au 01/01/2025", "Frein : logement"}
	data := workbook(t, map[string][][]any{
		"Notice": {{"Ce classeur décrit les personnes suivies"}},
		"Suivis": {
			{},
			header,
			{"2820251108030", "LEFÈVRE", "Hélène", 30387.0, 45689.0, "06 12 34 56 78", "helene@exemple.fr",
				"socio-professionnel", "CCAS de Valence", "12/04/2025", "Contrat d'engagements réciproques", 45778.0, "01/05/2026", "oui", "x"},
			{"1810693050030", "MARTIN", "Paul", "05/03/1982", "2025-02-01", "12 34", "pas une adresse"},
			{1.810693050030e12, "DURAND", "Zoé", "", 45689.0},
		},
	}, "Notice", "Suivis")

	info, rows, err := readXLSX(t, data, "suivis")
	require.NoError(t, err)
	assert.Equal(t, "Suivis", info.Sheet)
	assert.Equal(t, "Nom  *", info.Columns[FieldLastName])
	require.Len(t, rows, 3)

	p := rows[0]
	require.NoError(t, p.Err)
	assert.Equal(t, 3, p.Line, "the row number of the sheet")
	assert.Equal(t, domain.NewDate(1983, 3, 12), p.Person.BirthDate, "a serial date")
	assert.Equal(t, domain.NewDate(2025, 2, 1), p.Person.EnteredOn)
	assert.Equal(t, "0612345678", p.Person.Phone)
	require.NotNil(t, p.Person.Reprise)
	r := p.Person.Reprise
	require.NotNil(t, r.Orientation)
	assert.Equal(t, domain.TrackSocioProfessional, r.Orientation.Track)
	assert.Equal(t, "CCAS de Valence", r.Orientation.Organism)
	assert.Equal(t, domain.NewDate(2025, 4, 12), r.Orientation.DecidedOn)
	require.NotNil(t, r.Contract)
	assert.Equal(t, domain.ContractCER, r.Contract.Kind)
	assert.Equal(t, domain.NewDate(2025, 5, 1), r.Contract.StartsOn)
	assert.Equal(t, r.Contract.StartsOn, r.Contract.SignedOn, "signed on its start when not given")
	assert.Equal(t, domain.NewDate(2026, 5, 1), r.Contract.EndsOn)
	assert.True(t, r.Stock)
	assert.Equal(t, []string{"housing"}, r.Obstacles)

	// Malformed optional values are dropped with a warning.
	q := rows[1]
	require.NoError(t, q.Err)
	assert.Empty(t, q.Person.Phone)
	assert.Empty(t, q.Person.Email)
	require.Len(t, q.Warnings, 2)
	assert.Contains(t, q.Warnings[0], "téléphone")
	assert.Contains(t, q.Warnings[1], "adresse électronique")
	assert.Nil(t, q.Person.Reprise)
	assert.NoError(t, q.Person.Validate(listDay))

	// A NIR typed as a number; no birth date: the NIR identifies.
	z := rows[2]
	require.NoError(t, z.Err)
	assert.Equal(t, "1810693050030", z.Person.NIR)
	assert.True(t, z.Person.BirthDate.IsZero())
	assert.NoError(t, z.Person.Validate(listDay))

	// The first sheet by default; an unknown sheet is named with the others.
	_, _, err = readXLSX(t, data, "")
	assert.ErrorContains(t, err, "colonnes manquantes")
	_, _, err = readXLSX(t, data, "Feuil9")
	assert.ErrorContains(t, err, "Notice, Suivis")
}

func TestReadListOptionalColumns(t *testing.T) {
	// Neither birth date nor entry date: the file says so once, the lines
	// read; the allocataire number alone needs the birth date.
	data := "Numéro allocataire;NIR;Nom*;Prénom *\n" +
		"2055990;2820251108030;Martin;Léa\n" +
		"0346145;;Petit;Jean\n"
	info, rows, err := readRows(t, []byte(data), DefaultMapping())
	require.NoError(t, err)
	require.Len(t, info.Warnings, 2)
	assert.Contains(t, info.Warnings[0], "date de réception")
	assert.Contains(t, info.Warnings[1], "Date de naissance")
	require.Len(t, rows, 2)
	require.NoError(t, rows[0].Err)
	assert.Equal(t, listDay, rows[0].Person.EnteredOn)
	assert.Empty(t, rows[0].Warnings, "the file-wide warning is not repeated per line")
	require.Error(t, rows[1].Err)
	assert.Contains(t, rows[1].Err.Error(), "seul identifiant")
}

func TestReadCSVCutLastLine(t *testing.T) {
	full := "Identifiant;Nom;Prénom;Date de naissance;Date d'entrée\n" +
		"A1;Martin;Léa;05/03/1982;01/02/2026\n" +
		"A22;Petit;Jean;01/01/1990;01/02/2026\n"
	for name, data := range map[string]string{
		"short":       full[:len(full)-14],                                       // cut in the middle of the birth date
		"open quote":  strings.TrimSuffix(full, "\n")[:len(full)-1] + ";\"Petit", // a quoted field left open
		"no newline":  strings.TrimSuffix(full, "\n"),                            // complete: kept
		"newline end": full,
	} {
		t.Run(name, func(t *testing.T) {
			_, rows, err := readRows(t, []byte(data), DefaultMapping())
			require.NoError(t, err)
			require.Len(t, rows, 2)
			require.NoError(t, rows[0].Err)
			last := rows[1]
			if strings.HasPrefix(name, "no") || name == "newline end" {
				require.NoError(t, last.Err)
				assert.Equal(t, "A22", last.Person.ExternalID)
				return
			}
			require.Error(t, last.Err)
			assert.Contains(t, last.Err.Error(), "coupée")
			assert.Equal(t, 3, last.Line)
		})
	}
}

func TestReadCSVInvalidBytes(t *testing.T) {
	// 0x81 is no character in Windows-1252; 0x01 is a control character.
	data := "Identifiant;Nom;Prénom;Date de naissance;Date d'entrée;Téléphone\n" +
		"A1;Mar\x81tin;Léa;05/03/1982;01/02/2026;\n" +
		"A2;Petit;Je\x01an;01/01/1990;01/02/2026;\n" +
		"A3;Moreau;Inès;01/01/1990;01/02/2026;06\x8D12\n"
	_, rows, err := readRows(t, []byte(data), DefaultMapping())
	require.NoError(t, err)
	require.Len(t, rows, 3)
	require.Error(t, rows[0].Err)
	assert.Contains(t, rows[0].Err.Error(), "colonne 2 « Nom »")
	assert.Contains(t, rows[0].Err.Error(), "0x81")
	assert.Equal(t, 2, rows[0].Line)
	require.Error(t, rows[1].Err)
	assert.Contains(t, rows[1].Err.Error(), "colonne 3 « Prénom »")
	assert.Contains(t, rows[1].Err.Error(), "U+0001")
	// In an optional field: dropped with a warning.
	require.NoError(t, rows[2].Err)
	assert.Empty(t, rows[2].Person.Phone)
	require.Len(t, rows[2].Warnings, 1)
	assert.Contains(t, rows[2].Warnings[0], "colonne 6")
	for _, r := range rows {
		for _, s := range []string{r.Person.LastName, r.Person.FirstName, r.Person.Phone} {
			assert.NotRegexp(t, `[\x00-\x1f\x{80}-\x{9f}]`, s)
		}
	}
}

func TestReadListRepriseValues(t *testing.T) {
	head := "Identifiant;Nom;Prénom;Date de naissance;Date d'entrée;Type de parcours;Date d'orientation;Référent;Type de contrat;Date de début du contrat;Date de fin du contrat;Action en cours;Début action\n"
	for _, c := range []struct {
		kind string
		want domain.ContractKind
	}{{"PPAE", domain.ContractPPAE}, {"contrat d'engagement", domain.ContractEngagement}, {"C.E.R.", domain.ContractCER}, {"CE", domain.ContractEngagement},
		{"Projet personnalisé d'accès à l'emploi", domain.ContractPPAE}} {
		data := head + "A1;Martin;Léa;05/03/1982;01/02/2025;professionnel;03/03/2025;ref-42;" + c.kind + ";01/04/2025;31/03/2026;formation;01/09/2025\n"
		_, rows, err := readRows(t, []byte(data), DefaultMapping())
		require.NoError(t, err)
		require.NoError(t, rows[0].Err, c.kind)
		r := rows[0].Person.Reprise
		assert.Equal(t, c.want, r.Contract.Kind, c.kind)
		assert.Equal(t, "ref-42", r.Orientation.ReferentID)
		assert.Equal(t, "training", r.Action.Kind)
	}
	// Unknown values and missing dates reject the line, every reason said.
	data := head + "A1;Martin;Léa;05/03/1982;01/02/2025;pro-social;;;CDI;01/04/2025;;;\n"
	_, rows, err := readRows(t, []byte(data), DefaultMapping())
	require.NoError(t, err)
	require.Error(t, rows[0].Err)
	for _, want := range []string{"parcours \"pro-social\" inconnu", "date de la décision d'orientation manque", "type de contrat \"CDI\"", "date de fin du contrat manque"} {
		assert.Contains(t, rows[0].Err.Error(), want)
	}
}

func TestExcelSerial(t *testing.T) {
	for s, want := range map[string]domain.Date{
		"45658": domain.NewDate(2025, 1, 1), "45658.75": domain.NewDate(2025, 1, 1), "61": domain.NewDate(1900, 3, 1),
	} {
		d, ok := excelSerial(s, false)
		assert.True(t, ok, s)
		assert.Equal(t, want, d, s)
	}
	d, _ := excelSerial("0", false)
	assert.True(t, d.IsZero())
	d, ok := excelSerial("44197", true)
	assert.True(t, ok)
	assert.Equal(t, domain.NewDate(2025, 1, 2), d)
}

func FuzzReadXLSXCells(f *testing.F) {
	f.Add("Martin", "05/03/1982", "45689")
	f.Add("Mar\x81tin", "1.5E+3", "x")
	f.Fuzz(func(t *testing.T, name, birth, entered string) {
		cr := cellReader{info: &CSVInfo{}, serials: true}
		raw := rawRow{line: 2, cells: []string{"A1", name, "Léa", birth, entered}}
		cols := map[string]int{FieldExternalID: 0, FieldLastName: 1, FieldFirstName: 2, FieldBirthDate: 3, FieldEnteredOn: 4}
		row := cr.person(raw, cols, []string{"Identifiant", "Nom", "Prénom", "Naissance", "Entrée"}, listDay)
		if row.Err == nil && strings.ContainsFunc(row.Person.LastName, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0xfffd }) {
			t.Fatalf("a control character was kept: %q", row.Person.LastName)
		}
	})
}

// The template's headers read with the default mapping, as CSV and XLSX.
func TestTemplateReadsBack(t *testing.T) {
	var csvBuf bytes.Buffer
	require.NoError(t, WriteTemplateCSV(&csvBuf))
	line := "IOD-1;2820251108030;2055990;CAF;Lefèvre;Hélène;05/02/1982;15/02/2025;01/03/2025;0612345678;;h@exemple.fr;demandeur;" +
		"social;CCAS;12/04/2025;ref-42;CER;02/05/2025;02/05/2025;01/05/2026;oui;non;non;oui;non;formation;01/09/2025;28/02/2027\n"
	_, rows, err := readRows(t, append(csvBuf.Bytes(), line...), DefaultMapping())
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.NoError(t, rows[0].Err)
	p := rows[0].Person
	assert.Equal(t, domain.NewDate(2025, 3, 1), p.ReceivedOn)
	require.NotNil(t, p.Reprise)
	assert.Equal(t, domain.TrackSocial, p.Reprise.Orientation.Track)
	assert.Equal(t, domain.ContractCER, p.Reprise.Contract.Kind)
	assert.True(t, p.Reprise.Stock)
	assert.Equal(t, []string{"housing"}, p.Reprise.Obstacles)
	assert.Equal(t, domain.NewDate(2027, 2, 28), p.Reprise.Action.PlannedEndOn)
	assert.Len(t, strings.Split(strings.TrimSpace(line), ";"), len(Fields), "one column per field")

	var xl bytes.Buffer
	require.NoError(t, WriteTemplateXLSX(&xl))
	info, _, err := readXLSX(t, xl.Bytes(), "")
	require.NoError(t, err)
	assert.Len(t, info.Columns, len(Fields), "every template column is recognised")
}
