package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Fields a CSV list can fill, in the order the mapping page shows them.
const (
	FieldExternalID = "external_id"
	FieldNIR        = "nir"
	FieldMatricule  = "matricule"
	FieldPayer      = "payer"
	FieldLastName   = "last_name"
	FieldFirstName  = "first_name"
	FieldBirthDate  = "birth_date"
	FieldEnteredOn  = "entered_on"
	FieldPhone      = "phone"
	FieldPhone2     = "phone2"
	FieldEmail      = "email"
	FieldRole       = "role"
)

// FieldLabels are the French names of the fields.
var FieldLabels = []struct{ Field, Label string }{
	{FieldExternalID, "Identifiant du bénéficiaire (département)"},
	{FieldNIR, "NIR"},
	{FieldMatricule, "Numéro d'allocataire CAF/MSA"},
	{FieldPayer, "Organisme payeur (CAF ou MSA)"},
	{FieldLastName, "Nom"},
	{FieldFirstName, "Prénom"},
	{FieldBirthDate, "Date de naissance"},
	{FieldEnteredOn, "Date d'entrée en droits et devoirs"},
	{FieldPhone, "Téléphone"},
	{FieldPhone2, "Téléphone 2"},
	{FieldEmail, "Adresse électronique"},
	{FieldRole, "Rôle dans le foyer"},
}

// Mapping gives, for each field, the column headers that may hold it (the
// first present wins). Headers are compared normalised (NormalizeHeader).
type Mapping map[string][]string

// DefaultMapping reads the CNAF contacts file (cnaf-flux.md §3.1) and the
// usual names of départements' lists.
func DefaultMapping() Mapping {
	return Mapping{
		FieldExternalID: {"identifiant", "id", "id iodas", "identifiant departement", "numero dossier departement"},
		FieldNIR:        {"nir", "numero securite sociale", "numero de securite sociale", "nir beneficiaire"},
		FieldMatricule:  {"matricule", "numero allocataire", "numero allocataire caf/msa", "numero allocataire caf", "n° allocataire"},
		FieldPayer:      {"organisme", "organisme payeur"},
		FieldLastName:   {"nom", "nom responsable dossier", "nom beneficiaire", "nom de naissance"},
		FieldFirstName:  {"prenom", "prenom responsable dossier", "prenom beneficiaire"},
		FieldBirthDate:  {"date de naissance", "date naissance", "naissance"},
		FieldEnteredOn:  {"date debut droits - devoirs", "date debut droits et devoirs", "date d'entree en droits et devoirs", "date entree droits et devoirs", "date d'entree"},
		FieldPhone:      {"numero telephone dossier", "telephone", "numero de telephone", "tel"},
		FieldPhone2:     {"numero telephone 2 dossier", "telephone 2"},
		FieldEmail:      {"adresse electronique dossier", "email", "e-mail", "courriel", "adresse electronique"},
		FieldRole:       {"role personne", "role"},
	}
}

// required fields of a list (an identifier is checked per row).
var requiredFields = []string{FieldLastName, FieldFirstName, FieldBirthDate, FieldEnteredOn}

// Validate checks a mapping: known fields, and the required ones named.
func (m Mapping) Validate() error {
	known := map[string]bool{}
	for _, f := range FieldLabels {
		known[f.Field] = true
	}
	for f, names := range m {
		if !known[f] {
			return domain.FieldError("mapping", "Champ inconnu %q dans la correspondance des colonnes.", f)
		}
		for _, n := range names {
			if NormalizeHeader(n) == "" {
				return domain.FieldError(f, "Un nom de colonne vide est donné pour « %s ».", labelOf(f))
			}
		}
	}
	for _, f := range requiredFields {
		if len(m[f]) == 0 {
			return domain.FieldError(f, "La colonne « %s » est obligatoire.", labelOf(f))
		}
	}
	if len(m[FieldExternalID]) == 0 && len(m[FieldNIR]) == 0 && len(m[FieldMatricule]) == 0 {
		return domain.FieldError(FieldExternalID, "Il faut au moins une colonne d'identification : identifiant, NIR ou numéro d'allocataire.")
	}
	return nil
}

func labelOf(field string) string {
	for _, f := range FieldLabels {
		if f.Field == field {
			return f.Label
		}
	}
	return field
}

// NormalizeHeader compares headers as rdv-insertion does (cnaf-flux.md §3):
// line breaks and runs of spaces become one space, apostrophes hyphens,
// lower case without accents, "n°" becomes "numero", spaces hyphens.
func NormalizeHeader(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.NewReplacer("'", "-", "’", "-").Replace(s)
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "n°", "numero")
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), " ", "-")
}

// CSVInfo is what the reading learnt of a list.
type CSVInfo struct {
	Separator rune
	Encoding  string // "UTF-8" or "Windows-1252"
	Columns   map[string]string
	Rows      int
}

// Row is one data row: the person, or why the row cannot be used.
type Row struct {
	Line   int
	Person domain.ImportedPerson
	Err    error
}

// ReadCSV streams a list and calls fn with each row (fn may be nil, to check
// a file). received is the date the département received the list. A file
// whose header misses a required column is refused with the missing names.
func ReadCSV(r io.Reader, m Mapping, received domain.Date, fn func(Row) error) (CSVInfo, error) {
	info := CSVInfo{Encoding: "UTF-8"}
	if err := m.Validate(); err != nil {
		return info, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	head, _ := br.Peek(64 << 10)
	if len(head) == 0 {
		return info, errors.New("le fichier est vide")
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return info, errors.New("ce fichier n'est pas une liste CSV : il contient des données binaires (un classeur Excel ? enregistrez-le au format CSV)")
	}
	if t := bytes.TrimSpace(head); len(t) > 0 && t[0] == '<' {
		return info, errors.New("ce fichier est du XML, pas une liste CSV : importez-le comme flux CAF/MSA")
	}
	info.Separator = sniffSeparator(head)
	cr := csv.NewReader(br)
	cr.Comma = info.Separator
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return info, fmt.Errorf("ligne d'en-tête illisible : %v", err)
	}
	index := map[string]int{}
	for i, h := range header {
		h = decodeField(h, &info)
		if n := NormalizeHeader(h); n != "" {
			if _, dup := index[n]; !dup {
				index[n] = i
			}
		}
	}
	cols := map[string]int{}
	info.Columns = map[string]string{}
	for field, names := range m {
		for _, name := range names {
			if i, ok := index[NormalizeHeader(name)]; ok {
				cols[field] = i
				info.Columns[field] = strings.TrimSpace(header[i])
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
	_, hasID := cols[FieldExternalID]
	_, hasNIR := cols[FieldNIR]
	_, hasMat := cols[FieldMatricule]
	if !hasID && !hasNIR && !hasMat {
		missing = append(missing, "une colonne d'identification (identifiant, NIR ou numéro d'allocataire)")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return info, fmt.Errorf("colonnes manquantes dans l'en-tête : %s", strings.Join(missing, ", "))
	}

	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return info, nil
		}
		line := 0
		if err == nil && len(rec) > 0 {
			line, _ = cr.FieldPos(0)
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return info, fmt.Errorf("lecture interrompue vers la ligne %d : %v", line, err)
		}
		if err == nil && blank(rec) {
			continue
		}
		info.Rows++
		row := Row{Line: line}
		if pe != nil {
			row.Line, row.Err = pe.StartLine, fmt.Errorf("ligne CSV mal formée : %v", pe.Err)
		} else {
			row.Person, row.Err = person(rec, cols, &info, received)
			row.Person.Line = line
		}
		if fn != nil {
			if err := fn(row); err != nil {
				return info, err
			}
		}
	}
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// sniffSeparator picks ; , or tab: the most frequent outside quotes on the
// first line.
func sniffSeparator(head []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(head) {
		if c == '"' {
			quoted = !quoted
		}
		if c == '\n' && !quoted {
			break
		}
		if !quoted && (c == ';' || c == ',' || c == '\t') {
			counts[c]++
		}
	}
	best := ';'
	for _, c := range []rune{',', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// decodeField reads a field as UTF-8, or as Windows-1252 when it is not
// valid UTF-8 (lists saved by Excel on Windows).
func decodeField(s string, info *CSVInfo) string {
	if utf8.ValidString(s) {
		return s
	}
	info.Encoding = "Windows-1252"
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

func person(rec []string, cols map[string]int, info *CSVInfo, received domain.Date) (domain.ImportedPerson, error) {
	get := func(f string) string {
		i, ok := cols[f]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(decodeField(rec[i], info))
	}
	p := domain.ImportedPerson{
		ExternalID:  get(FieldExternalID),
		NIR:         get(FieldNIR),
		PayerNumber: get(FieldMatricule),
		Payer:       get(FieldPayer),
		LastName:    get(FieldLastName),
		FirstName:   get(FieldFirstName),
		Email:       get(FieldEmail),
		Role:        roleCode(get(FieldRole)),
		Subject:     true,
		ReceivedOn:  received,
	}
	p.Phone = pickPhone(get(FieldPhone), get(FieldPhone2))
	if p.PayerNumber != "" && p.Payer == "" {
		p.Payer = "CAF"
	}
	var err error
	if p.BirthDate, err = listDate(get(FieldBirthDate)); err != nil {
		return p, fmt.Errorf("date de naissance : %v", err)
	}
	if p.EnteredOn, err = listDate(get(FieldEnteredOn)); err != nil {
		return p, fmt.Errorf("date d'entrée en droits et devoirs : %v", err)
	}
	if p.EnteredOn.IsZero() {
		return p, errors.New("la date d'entrée en droits et devoirs manque")
	}
	if p.ReceivedOn.Before(p.EnteredOn) {
		p.ReceivedOn = p.EnteredOn
	}
	p.Normalize()
	return p, nil
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
