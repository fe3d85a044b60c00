package importer

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// A list (CSV file or workbook sheet) is read in one way: a table gives
// rows of strings and a header; the mapping turns each row into a person,
// with the values it could not use said as warnings.

// CSVInfo is what the reading learnt of a list (CSV or XLSX).
type CSVInfo struct {
	Format    string // csv or xlsx
	Separator rune   // CSV
	Encoding  string // CSV: "UTF-8" or "Windows-1252"
	Sheet     string // XLSX: the sheet read
	Columns   map[string]string
	Rows      int
	// Warnings are about the whole file (a column absent, a default used).
	Warnings []string
}

// Row is one data row: the person, or why the row cannot be used. Warnings
// say which optional values were dropped or filled in.
type Row struct {
	Line     int
	Person   domain.ImportedPerson
	Err      error
	Warnings []string
}

// rawRow is one row of a table, before the mapping reads it.
type rawRow struct {
	line  int
	cells []string
	err   error // the row cannot be read (malformed, cut)
	cut   bool
}

// table is a list's rows: a CSV file or a workbook's sheet.
type table interface {
	header() ([]string, error)
	next() (rawRow, error) // io.EOF after the last row
}

// MissingColumnsError refuses a list whose header lacks required columns;
// Missing names every one.
type MissingColumnsError struct{ Missing []string }

func (e *MissingColumnsError) Error() string {
	return "colonnes manquantes dans l'en-tête : " + strings.Join(e.Missing, ", ")
}

// cellReader reads the cells of one list.
type cellReader struct {
	info     *CSVInfo
	serials  bool // dates may be Excel serial numbers (workbooks)
	date1904 bool
}

func readTable(t table, m Mapping, received domain.Date, info *CSVInfo, fn func(Row) error) error {
	return cellReader{info: info}.read(t, m, received, fn)
}

func (cr cellReader) read(t table, m Mapping, received domain.Date, fn func(Row) error) error {
	info := cr.info
	header, err := t.header()
	if err != nil {
		return err
	}
	names := make([]string, len(header))
	index := map[string]int{}
	for i, h := range header {
		h, _ = cr.cell(h)
		names[i] = strings.TrimSpace(h)
		if n := NormalizeHeader(h); n != "" {
			if _, dup := index[n]; !dup {
				index[n] = i
			}
		}
	}
	cols := map[string]int{}
	info.Columns = map[string]string{}
	full := m.withLabels()
	for _, f := range Fields {
		for _, name := range full[f.Field] {
			if i, ok := index[NormalizeHeader(name)]; ok {
				cols[f.Field] = i
				info.Columns[f.Field] = names[i]
				break
			}
		}
	}
	var missing []string
	for _, f := range requiredFields {
		if _, ok := cols[f]; !ok {
			missing = append(missing, fmt.Sprintf("« %s » (%s)", labelOf(f), strings.Join(m[f], " ou ")))
		}
	}
	if !slices.ContainsFunc(identifierFields, func(f string) bool { _, ok := cols[f]; return ok }) {
		missing = append(missing, "une colonne d'identification (identifiant, NIR ou numéro d'allocataire)")
	}
	if len(missing) > 0 {
		return &MissingColumnsError{Missing: missing}
	}
	if _, ok := cols[FieldEnteredOn]; !ok {
		info.Warnings = append(info.Warnings, "La colonne « Date d'entrée en droits et devoirs » est absente : chaque parcours commence à la date de réception de l'information.")
	}
	if _, ok := cols[FieldBirthDate]; !ok {
		info.Warnings = append(info.Warnings, "La colonne « Date de naissance » est absente : les dates de naissance déjà connues sont gardées, et une ligne identifiée seulement par le numéro d'allocataire est rejetée.")
	}

	for {
		raw, err := t.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if raw.err == nil && blank(raw.cells) {
			continue
		}
		info.Rows++
		row := Row{Line: raw.line, Err: raw.err}
		if raw.err == nil {
			row = cr.person(raw, cols, names, received)
		}
		if fn != nil {
			if err := fn(row); err != nil {
				return err
			}
		}
	}
}

// optionalFields are dropped, with a warning, when their value is unusable.
var optionalFields = []string{FieldPhone, FieldPhone2, FieldEmail, FieldRole, FieldPayer}

func (cr cellReader) person(raw rawRow, cols map[string]int, names []string, received domain.Date) Row {
	row := Row{Line: raw.line}
	var errs []error
	warn := func(format string, args ...any) { row.Warnings = append(row.Warnings, fmt.Sprintf(format, args...)) }
	seen := map[string]string{}
	get := func(f string) string {
		if v, ok := seen[f]; ok {
			return v
		}
		seen[f] = ""
		i, ok := cols[f]
		if !ok || i >= len(raw.cells) {
			return ""
		}
		v, err := cr.cell(raw.cells[i])
		if err != nil {
			where := fmt.Sprintf("colonne %d « %s »", i+1, names[i])
			if slices.Contains(optionalFields, f) {
				warn("%s : %v ; valeur ignorée", where, err)
				return ""
			}
			errs = append(errs, fmt.Errorf("%s : %v", where, err))
			return ""
		}
		seen[f] = strings.TrimSpace(v)
		return seen[f]
	}
	date := func(f string) domain.Date {
		d, err := cr.date(get(f))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s : %v", strings.ToLower(labelOf(f)), err))
		}
		return d
	}
	p := domain.ImportedPerson{
		Line:        raw.line,
		ExternalID:  get(FieldExternalID),
		NIR:         get(FieldNIR),
		PayerNumber: get(FieldMatricule),
		LastName:    get(FieldLastName),
		FirstName:   get(FieldFirstName),
		Subject:     true,
		ReceivedOn:  received,
	}
	switch v := strings.ToUpper(get(FieldPayer)); v {
	case "", "CAF", "MSA":
		p.Payer = v
	default:
		warn("organisme payeur %q inconnu (CAF ou MSA) : valeur ignorée", v)
	}
	if r := get(FieldRole); r != "" {
		p.Role = roleCode(r)
	}
	p.Phone = cr.phones(get(FieldPhone), get(FieldPhone2), warn)
	if e := strings.ToLower(strings.Join(strings.Fields(get(FieldEmail)), "")); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			warn("adresse électronique mal formée : ignorée") // the report never repeats contact data
		} else {
			p.Email = e
		}
	}
	if p.PayerNumber != "" && p.Payer == "" {
		p.Payer = "CAF"
	}
	p.BirthDate = date(FieldBirthDate)
	p.EnteredOn = date(FieldEnteredOn)
	if d := date(FieldReceivedOn); !d.IsZero() {
		p.ReceivedOn = d
	}
	var err error
	if p.Reprise, err = reprise(get, cr.date); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		row.Person, row.Err = p, err
		return row
	}
	if p.BirthDate.IsZero() && p.NIR == "" && p.ExternalID == "" && p.PayerNumber != "" {
		row.Person, row.Err = p, errors.New("la date de naissance manque : elle est obligatoire quand le numéro d'allocataire est le seul identifiant")
		return row
	}
	if p.EnteredOn.IsZero() {
		p.EnteredOn = p.ReceivedOn
		if _, ok := cols[FieldEnteredOn]; ok {
			warn("date d'entrée en droits et devoirs absente : le parcours commence à la date de réception de l'information (%s)", p.ReceivedOn.French())
		}
	}
	if p.ReceivedOn.Before(p.EnteredOn) {
		p.ReceivedOn = p.EnteredOn
	}
	p.Normalize()
	row.Person = p
	return row
}

// phones keeps the valid numbers, preferring a mobile, and warns of the
// others.
func (cr cellReader) phones(first, second string, warn func(string, ...any)) string {
	valid := func(s string) string {
		if s == "" {
			return ""
		}
		n := domain.NormalizePhone(s)
		if len(n) < 10 || len(n) > 16 || strings.HasPrefix(n, "0") && len(n) != 10 {
			warn("numéro de téléphone mal formé : ignoré") // the report never repeats contact data
			return ""
		}
		return n
	}
	return pickPhone(valid(first), valid(second))
}

// cell reads a cell as UTF-8, or as Windows-1252 when it is not valid UTF-8
// (lists saved by Excel on Windows). A byte that is not a character in its
// encoding, or a control character, is an error: it is never stored.
func (cr cellReader) cell(s string) (string, error) {
	if len(s) > MaxCSVFieldBytes { // a workbook's: a CSV field is cut before
		return "", fmt.Errorf("la cellule compte %d octets, au plus %d dans une liste", len(s), MaxCSVFieldBytes)
	}
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case 0x81, 0x8D, 0x8F, 0x90, 0x9D:
				return "", fmt.Errorf("octet 0x%02X invalide (ni UTF-8 ni Windows-1252) à la position %d", s[i], utf8.RuneCountInString(s[:i])+1)
			}
		}
		cr.info.Encoding = "Windows-1252"
		out, err := charmap.Windows1252.NewDecoder().String(s)
		if err != nil {
			return "", fmt.Errorf("texte illisible en Windows-1252 : %v", err)
		}
		s = out
	}
	pos := 0
	for _, r := range s {
		pos++
		if r == utf8.RuneError || unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return "", fmt.Errorf("caractère de contrôle U+%04X invalide à la position %d", r, pos)
		}
	}
	return s, nil
}

// date reads dd/mm/yyyy, dd-mm-yyyy, yyyy-mm-dd, and, in a workbook, an
// Excel serial number.
func (cr cellReader) date(s string) (domain.Date, error) {
	if cr.serials {
		if d, ok := excelSerial(s, cr.date1904); ok {
			return d, nil
		}
	}
	return listDate(s)
}

// excelSerial reads a day number of a workbook (1 is 1 January 1900, or 2
// January 1904 in the 1904 system); a time of day is ignored.
func excelSerial(s string, date1904 bool) (domain.Date, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 2958465 {
		return domain.Date{}, false
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC) // Excel's leap-year 1900 bug absorbed after 1 March 1900
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	t := base.AddDate(0, 0, int(f))
	return domain.NewDate(t.Year(), t.Month(), t.Day()), true
}

// pickPhone prefers a mobile number, as rdv-insertion does: the first if it
// starts with 06 or 07, else the second if it does, else the first.
func pickPhone(first, second string) string {
	a, b := domain.NormalizePhone(first), domain.NormalizePhone(second)
	mobile := func(s string) bool { return strings.HasPrefix(s, "06") || strings.HasPrefix(s, "07") }
	switch {
	case mobile(a) || a != "" && !mobile(b):
		return a
	case b != "":
		return b
	}
	return a
}

func roleCode(s string) string {
	switch NormalizeHeader(s) {
	case "dem", "demandeur":
		return "DEM"
	case "cjt", "conjoint":
		return "CJT"
	case "enf", "enfant":
		return "ENF"
	case "":
		return ""
	}
	return "AUT"
}

// listDate reads dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd.
func listDate(s string) (domain.Date, error) {
	if s == "" {
		return domain.Date{}, nil
	}
	for _, layout := range []string{"02/01/2006", "2006-01-02", "02-01-2006", "2/1/2006", "02/01/06"} {
		if t, err := time.Parse(layout, s); err == nil {
			if layout == "02/01/06" && t.Year() > time.Now().Year() {
				t = t.AddDate(-100, 0, 0)
			}
			return domain.NewDate(t.Year(), t.Month(), t.Day()), nil
		}
	}
	return domain.Date{}, fmt.Errorf("%q n'est pas une date (attendu JJ/MM/AAAA)", s)
}
