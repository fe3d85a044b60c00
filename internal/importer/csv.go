package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// ReadCSV streams a CSV list and calls fn with each row (fn may be nil, to
// check a file). received is the date the département received the list. A
// file whose header misses a required column is refused with every missing
// name (a *MissingColumnsError).
func ReadCSV(r io.Reader, m Mapping, received domain.Date, fn func(Row) error) (CSVInfo, error) {
	info := CSVInfo{Format: FormatCSV, Encoding: "UTF-8"}
	if err := m.Validate(); err != nil {
		return info, err
	}
	tail := &tailReader{r: r}
	br := bufio.NewReaderSize(tail, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	head, _ := br.Peek(64 << 10)
	if len(head) == 0 {
		return info, errors.New("le fichier est vide")
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return info, errors.New("ce fichier est un classeur Excel (XLSX), pas une liste CSV : importez-le au format « Classeur Excel (XLSX) »")
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return info, errors.New("ce fichier n'est pas une liste CSV : il contient des données binaires (un ancien classeur .xls ? enregistrez-le au format XLSX ou CSV)")
	}
	if t := bytes.TrimSpace(head); len(t) > 0 && t[0] == '<' {
		return info, errors.New("ce fichier est du XML, pas une liste CSV : importez-le comme flux CAF/MSA")
	}
	info.Separator = sniffSeparator(head)
	// Every field is cut at its limit as it streams (issue 20): a row with
	// one is rejected, the others read.
	limits, limited := newCSVLimiter(br, info.Separator)
	cr := csv.NewReader(limited)
	cr.Comma = info.Separator
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	err := readTable(&csvTable{cr: cr, tail: tail, limits: limits}, m, received, &info, fn)
	return info, err
}

// csvTable reads a CSV file's records one ahead, to know which is the last:
// a last line cut in the middle (the file was truncated) is not read.
type csvTable struct {
	cr      *csv.Reader
	tail    *tailReader
	limits  *csvLimiter
	names   []string // the header's
	width   int
	pending *rawRow
	done    bool
}

func (t *csvTable) header() ([]string, error) {
	rec, err := t.cr.Read()
	var le *limitError
	switch {
	case err == io.EOF:
		return nil, errors.New("le fichier est vide")
	case errors.As(err, &le):
		return nil, le
	case err != nil:
		return nil, fmt.Errorf("ligne d'en-tête illisible : %v", err)
	}
	line, _ := t.cr.FieldPos(0)
	if col, cut := t.limits.take(line); cut {
		return nil, fmt.Errorf("ligne d'en-tête illisible : la colonne %d dépasse %d octets", col, MaxCSVFieldBytes)
	}
	t.width, t.names = len(rec), rec
	return rec, nil
}

func (t *csvTable) read() (*rawRow, error) {
	rec, err := t.cr.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	var pe *csv.ParseError
	var le *limitError
	switch {
	case errors.As(err, &le):
		return nil, le
	case err != nil && !errors.As(err, &pe):
		line, _ := t.cr.FieldPos(0)
		return nil, fmt.Errorf("lecture interrompue vers la ligne %d : %v", line, err)
	}
	var line int
	if pe != nil {
		line = pe.StartLine
	} else {
		line, _ = t.cr.FieldPos(0)
	}
	if col, cut := t.limits.take(line); cut {
		name := ""
		if col <= len(t.names) {
			name = fmt.Sprintf(" « %s »", strings.TrimSpace(t.names[col-1]))
		}
		return &rawRow{line: line, err: fmt.Errorf("colonne %d%s : le champ dépasse %d octets, bien plus qu'une cellule de liste n'en contient ; ligne non lue", col, name, MaxCSVFieldBytes)}, nil
	}
	if pe != nil {
		return &rawRow{line: pe.StartLine, err: fmt.Errorf("ligne CSV mal formée : %v", pe.Err)}, nil
	}
	return &rawRow{line: line, cells: rec}, nil
}

func (t *csvTable) next() (rawRow, error) {
	if t.pending == nil && !t.done {
		p, err := t.read()
		if err == io.EOF {
			t.done = true
		} else if err != nil {
			return rawRow{}, err
		}
		t.pending = p
	}
	if t.pending == nil {
		return rawRow{}, io.EOF
	}
	cur := t.pending
	t.pending = nil
	if !t.done {
		p, err := t.read()
		switch {
		case err == io.EOF:
			t.done = true
		case err != nil:
			return rawRow{}, err
		default:
			t.pending = p
		}
	}
	if t.done && t.pending == nil && cur.err == nil && t.tail.cut(len(cur.cells) < t.width) {
		cur.err = errors.New("la dernière ligne du fichier est coupée (fichier tronqué ?) : rien n'est créé à partir d'elle ; importez le fichier complet")
		cur.cut = true
	}
	return *cur, nil
}

// tailReader remembers how a file ends: its last byte, and whether a quote
// is left open.
type tailReader struct {
	r      io.Reader
	last   byte
	quotes int
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.last = p[n-1]
		t.quotes += bytes.Count(p[:n], []byte{'"'})
	}
	return n, err
}

// cut says whether the last record was cut: the file does not end with a
// line break, and the record is short or a quote is left open.
func (t *tailReader) cut(short bool) bool {
	if t.last == '\n' || t.last == '\r' {
		return false
	}
	return short || t.quotes%2 == 1
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

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
