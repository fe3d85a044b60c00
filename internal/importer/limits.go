package importer

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Per-field limits (issue 20, item 6: a 200-MB XML text node raised the
// memory by 860 MiB, a CSV field was held whole). The readers enforce them
// on the bytes as they stream, before any parser holds a field: a field
// over its limit is cut there and its household or row is rejected, the
// rest of the file read as usual; markup over its limit (a tag, a comment,
// a CSV record of too many columns) stops the reading with an error that
// says where.
const (
	// MaxTextBytes bounds an XML text node (flux, workbook cell). The
	// longest field of a flux holds 200 characters (LIBANO, docs/cnaf-flux.md
	// §2.2); a workbook cell is a list's cell.
	MaxTextBytes = 4 << 10
	// MaxMarkupBytes bounds an XML tag, processing instruction, directive
	// or CDATA section.
	MaxMarkupBytes = 4 << 10
	// MaxCommentBytes bounds an XML comment.
	MaxCommentBytes = 64 << 10
	// MaxWorkbookTextBytes bounds a text node of a workbook's sheets and
	// shared strings: a cell holds at most 32,767 characters in Excel. A
	// cell over MaxCSVFieldBytes is then rejected with its row, like a CSV
	// field.
	MaxWorkbookTextBytes = 128 << 10
	// MaxWorkbookUnzipped bounds a workbook's parts once decompressed (a
	// list of 100,000 rows is about 100 MiB).
	MaxWorkbookUnzipped = 1 << 30
	// MaxCSVFieldBytes bounds a CSV field's value (a list's cell: a name,
	// an identifier, a date, a reprise's note), its quotes not counted.
	MaxCSVFieldBytes = 4 << 10
	// MaxCSVFields bounds the fields of a CSV record (a list has tens).
	MaxCSVFields = 1000
)

// limitError stops a reading: markup over its limit.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// overflow is a field cut at its limit while streaming: its line, and what
// it was (an element's name, a column's number).
type overflow struct {
	line   int
	what   string
	column int // a CSV field's (1-based)
}

// filter streams r through feed, which appends to out what the parser is
// to read of in (each byte, nothing, or bytes held back before).
type filter struct {
	r       io.Reader
	feed    func(out, in []byte) ([]byte, error)
	buf     []byte
	out     []byte // what feed gave of buf
	pending []byte // what is left of out to read
	err     error
}

func (f *filter) Read(p []byte) (int, error) {
	for len(f.pending) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if f.buf == nil {
			f.buf = make([]byte, 32<<10)
		}
		n, err := f.r.Read(f.buf)
		f.out, f.err = f.feed(f.out[:0], f.buf[:n])
		f.pending = f.out
		if f.err == nil {
			f.err = err
		}
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

// xmlLimiter cuts XML text nodes at MaxTextBytes (noting each in
// overflows) and refuses markup over its limit. It follows the markup as
// encoding/xml does (quoted attribute values, comments, CDATA, processing
// instructions, directives with their nesting), so that what it counts is
// never less than what the decoder holds. Past a text node's limit, its
// bytes are dropped but its line breaks (the lines of what follows stay
// right), and the cut never splits a UTF-8 character or an entity.
type xmlLimiter struct {
	maxText   int    // MaxTextBytes, or a workbook's
	maxLines  int    // line breaks kept in a cut text: MaxTextBytes
	kind      string // what the file is to be: "un flux", "un classeur"
	state     int
	line      int
	run       int    // bytes of the current node
	name      []byte // the element being named, or the last start tag's
	closed    bool   // the last tag ended an element (or closed itself)
	quote     byte
	prev      [2]byte
	depth     int // a directive's nesting
	dirMatch  int // "!--" matched after a '<' in a directive
	entity    int // bytes since a '&' not yet ended by ';' (0: none)
	dropping  bool
	kept      int // line breaks kept since the cut
	overflows []overflow
}

const (
	xText       = iota
	xOpen       // after '<'
	xBang       // after "<!"
	xBangDash   // after "<!-"
	xCDATAOpen  // matching "<![CDATA["
	xTag        // in a start or end tag
	xTagName    // naming it
	xComment    // in "<!-- ... -->"
	xCDATA      // in "<![CDATA[ ... ]]>"
	xPI         // in "<? ... ?>"
	xDirective  // in "<!DOCTYPE ...>"
	xDirLt      // after '<' in a directive
	xDirComment // in a comment in a directive
)

func newXMLLimiter(r io.Reader) (*xmlLimiter, io.Reader) {
	l := &xmlLimiter{maxText: MaxTextBytes, maxLines: MaxTextBytes, kind: "un flux", line: 1}
	return l, &filter{r: r, feed: l.feed}
}

func (l *xmlLimiter) where() string {
	if len(l.name) == 0 {
		return "le texte"
	}
	if l.closed {
		return fmt.Sprintf("le texte après </%s>", l.name)
	}
	return fmt.Sprintf("le contenu de <%s>", l.name)
}

func (l *xmlLimiter) markup(what string, limit int) error {
	return &limitError{fmt.Sprintf("ligne %d : %s dépasse %d octets : le fichier n'est pas %s lisible", l.line, what, limit, l.kind)}
}

func (l *xmlLimiter) feed(out, in []byte) ([]byte, error) {
	for i := 0; i < len(in); {
		if l.state == xText {
			// The bulk of a file: a text's bytes up to its next '<', read
			// in one go (up to its limit, or dropped past it).
			seg := in[i:]
			if k := bytes.IndexByte(seg, '<'); k >= 0 {
				seg = seg[:k]
			}
			if !l.dropping {
				seg = seg[:min(len(seg), max(0, l.maxText-l.run))]
			}
			if len(seg) > 0 {
				lines := bytes.Count(seg, []byte{'\n'})
				l.line += lines
				l.run += len(seg)
				i += len(seg)
				if l.dropping {
					if l.kept += lines; l.kept > l.maxLines {
						return out, l.markup(l.where(), l.maxText)
					}
					for ; lines > 0; lines-- {
						out = append(out, '\n')
					}
					continue
				}
				amp, semi := bytes.LastIndexByte(seg, '&'), bytes.LastIndexByte(seg, ';')
				switch {
				case amp > semi:
					l.entity = len(seg) - amp
				case semi >= 0:
					l.entity = 0
				case l.entity > 0:
					l.entity += len(seg)
				}
				out = append(out, seg...)
				continue
			}
		}
		if l.state == xTagName || l.state == xTag {
			// A tag's name, or its attributes, up to the next byte that
			// may end them, in one go too.
			seg := in[i:]
			var k int
			switch {
			case l.state == xTagName:
				k = bytes.IndexAny(seg, " \t\n\r/>")
			case l.quote != 0:
				k = bytes.IndexByte(seg, l.quote)
			default:
				k = bytes.IndexAny(seg, "\"'/>")
			}
			if k < 0 {
				k = len(seg)
			}
			if k = min(k, max(0, MaxMarkupBytes-l.run)); k > 0 {
				seg = seg[:k]
				if l.state == xTagName {
					l.name = append(l.name, seg[:min(k, max(0, 64-len(l.name)))]...)
				}
				l.line += bytes.Count(seg, []byte{'\n'})
				l.run += k
				i += k
				out = append(out, seg...)
				continue
			}
		}
		var err error
		if out, err = l.feedByte(out, in[i]); err != nil {
			return out, err
		}
		i++
	}
	return out, nil
}

func (l *xmlLimiter) feedByte(out []byte, b byte) ([]byte, error) {
	if b == '\n' {
		l.line++
	}
	l.run++
	switch l.state {
	case xText:
		if b == '<' {
			l.state, l.run, l.dropping, l.entity = xOpen, 1, false, 0
			return append(out, b), nil
		}
		return l.text(out, b)
	case xOpen:
		switch b {
		case '!':
			l.state = xBang
		case '?':
			l.state, l.prev = xPI, [2]byte{}
		case '/':
			l.state, l.name, l.closed = xTagName, l.name[:0], true
		default:
			l.state, l.name, l.closed = xTagName, append(l.name[:0], b), false
		}
	case xBang:
		switch b {
		case '-':
			l.state = xBangDash
		case '[':
			l.state = xCDATAOpen
		default:
			l.state, l.depth, l.quote = xDirective, 0, 0
			return l.directive(out, b)
		}
	case xBangDash:
		l.state, l.prev = xComment, [2]byte{}
		if b != '-' {
			l.state, l.depth, l.quote = xDirective, 0, 0 // the decoder refuses it
		}
	case xCDATAOpen:
		if l.run == len("<![CDATA[") {
			l.state = xCDATA
		}
	case xTagName:
		if b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '/' || b == '>' {
			l.state = xTag
			return l.tag(out, b)
		}
		if len(l.name) < 64 {
			l.name = append(l.name, b)
		}
	case xTag:
		return l.tag(out, b)
	case xComment:
		if l.run > MaxCommentBytes {
			return out, l.markup("un commentaire", MaxCommentBytes)
		}
		if b == '>' && l.prev == [2]byte{'-', '-'} {
			l.state, l.run = xText, 0
		}
		l.prev = [2]byte{l.prev[1], b}
		return append(out, b), nil
	case xCDATA:
		if l.run > MaxMarkupBytes {
			return out, l.markup("une section CDATA", MaxMarkupBytes)
		}
		if b == '>' && l.prev == [2]byte{']', ']'} {
			l.state, l.run = xText, 0
		}
		l.prev = [2]byte{l.prev[1], b}
		return append(out, b), nil
	case xPI:
		if b == '>' && l.prev[1] == '?' {
			l.state, l.run = xText, 0
		}
		l.prev = [2]byte{l.prev[1], b}
	case xDirective, xDirLt, xDirComment:
		return l.directive(out, b)
	}
	if l.run > MaxMarkupBytes {
		return out, l.markup("une balise", MaxMarkupBytes)
	}
	return append(out, b), nil
}

// text passes a text node's bytes up to its limit, then its line breaks.
func (l *xmlLimiter) text(out []byte, b byte) ([]byte, error) {
	inEntity := l.entity > 0 // this byte continues (or ends) an entity
	switch {
	case b == '&':
		l.entity = 1
	case b == ';':
		l.entity = 0
	case l.entity > 0:
		l.entity++
	}
	if l.run <= l.maxText {
		return append(out, b), nil
	}
	if !l.dropping {
		// Cut where the decoder still reads a whole text: not inside a
		// UTF-8 character (at most 3 more bytes) nor an entity (at most 10).
		if b&0xC0 == 0x80 && l.run <= l.maxText+3 || inEntity && l.entity <= 10 {
			return append(out, b), nil
		}
		l.dropping, l.kept = true, 0
		l.overflows = append(l.overflows, overflow{line: l.line, what: l.where()})
	}
	if b != '\n' {
		return out, nil
	}
	if l.kept++; l.kept > l.maxLines {
		return out, l.markup(l.where(), l.maxText)
	}
	return append(out, b), nil
}

func (l *xmlLimiter) tag(out []byte, b byte) ([]byte, error) {
	if l.run > MaxMarkupBytes {
		return out, l.markup(fmt.Sprintf("la balise <%s>", l.name), MaxMarkupBytes)
	}
	switch {
	case l.quote != 0:
		if b == l.quote {
			l.quote = 0
		}
	case b == '"' || b == '\'':
		l.quote = b
	case b == '/':
		l.closed = true // <X/>: what follows is the parent's
	case b == '>':
		l.state, l.run = xText, 0
	}
	return append(out, b), nil
}

// directive follows encoding/xml's reading of "<!...>": quotes, nesting,
// and comments inside.
func (l *xmlLimiter) directive(out []byte, b byte) ([]byte, error) {
	if l.run > MaxMarkupBytes {
		return out, l.markup("une déclaration <!…>", MaxMarkupBytes)
	}
	out = append(out, b)
	switch l.state {
	case xDirComment:
		if b == '>' && l.prev == [2]byte{'-', '-'} {
			l.state = xDirective
		}
		l.prev = [2]byte{l.prev[1], b}
		return out, nil
	case xDirLt:
		if b == "!--"[l.dirMatch] {
			if l.dirMatch++; l.dirMatch == 3 {
				l.state, l.prev = xDirComment, [2]byte{}
			}
			return out, nil
		}
		l.state, l.depth = xDirective, l.depth+1
	}
	switch {
	case l.quote != 0:
		if b == l.quote {
			l.quote = 0
		}
	case b == '"' || b == '\'':
		l.quote = b
	case b == '>' && l.depth == 0:
		l.state, l.run = xText, 0
	case b == '>':
		l.depth--
	case b == '<':
		l.state, l.dirMatch = xDirLt, 0
	}
	return out, nil
}

// cut takes the text nodes cut up to where dec is, and returns the first
// at or after line (those before were in elements not read).
func (l *xmlLimiter) cut(dec *xml.Decoder, line int) *overflow {
	end, _ := dec.InputPos()
	var first *overflow
	n := 0
	for _, o := range l.overflows {
		if o.line > end {
			break
		}
		n++
		if o.line >= line && first == nil {
			first = &o
		}
	}
	l.overflows = l.overflows[n:]
	return first
}

// hardOverflow refuses a text node cut in the flux's header or trailer.
func (l *xmlLimiter) hardOverflow(dec *xml.Decoder) error {
	if o := l.cut(dec, 0); o != nil {
		return &limitError{fmt.Sprintf("ligne %d : %s dépasse %d octets : l'en-tête ou la fin du flux est illisible", o.line, o.what, l.maxText)}
	}
	return nil
}

// fluxLengths checks the fields read against the lengths of the flux's
// schema (vrsb0801, docs/cnaf-flux.md §2.2), in characters once trimmed.
func fluxLengths(x xmlFoyer) error {
	check := func(who, name, v string, limit int) error {
		if n := utf8.RuneCountInString(strings.TrimSpace(v)); n > limit {
			return fmt.Errorf("%s<%s> compte %d caractères, au plus %d dans un flux CNAF/MSA", who, name, n, limit)
		}
		return nil
	}
	errs := []error{
		check("", "FONORG", x.Organisme.FONORG, 3),
		check("", "NUMORG", x.Organisme.NUMORG, 3),
		check("", "MATRICULE", x.Organisme.MATRICULE, 15),
		check("", "ETATDOSRSA", x.Situation.Etat, 1),
	}
	for i, p := range x.Personnes {
		who := fmt.Sprintf("personne %d : ", i+1)
		errs = append(errs,
			check(who, "NOM", p.Identification.NOM, 28),
			check(who, "NOMNAI", p.Identification.NOMNAI, 28),
			check(who, "PRENOM", p.Identification.PRENOM, 32),
			check(who, "NIR", p.Identification.NIR, 15))
		for _, pr := range p.Prestations {
			errs = append(errs, check(who, "ROLEPERS", pr.ROLEPERS, 3))
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// csvLimiter cuts CSV fields at MaxCSVFieldBytes of their value (noting each in
// overflows, by the line its record starts on) and refuses a record of
// more than MaxCSVFields fields. It follows the records as encoding/csv
// does with LazyQuotes: a field starting with a quote runs to a quote
// followed by the separator or a line break ("" is a quote inside), any
// other to the separator or a line break. Past a field's limit its bytes
// are dropped but its line breaks, never the quote, separator or line
// break that end it, so that the reader still sees the same records.
type csvLimiter struct {
	maxField  int // MaxCSVFieldBytes (smaller in tests)
	maxLines  int // line breaks kept in a cut field: MaxCSVFieldBytes
	sep       byte
	state     int
	line      int
	recLine   int // the line the current record starts on (0: none started)
	field     int // the current field's index in its record
	size      int // bytes of the current field
	dropping  bool
	held      []byte // a quote (and a CR) that may end a field being dropped
	kept      int    // line breaks kept since the cut
	overflows []overflow
}

const (
	cStart   = iota // at a field's start
	cPlain          // in an unquoted field
	cQuoted         // in a quoted field
	cQuote          // after a quote in a quoted field
	cQuoteCR        // after a quote and a CR in a quoted field
)

func newCSVLimiter(r io.Reader, sep rune) (*csvLimiter, io.Reader) {
	l := &csvLimiter{maxField: MaxCSVFieldBytes, maxLines: MaxCSVFieldBytes, sep: byte(sep), line: 1}
	return l, &filter{r: r, feed: l.feed}
}

func (l *csvLimiter) feed(out, in []byte) ([]byte, error) {
	for i := 0; i < len(in); {
		if l.state == cPlain || l.state == cQuoted {
			// The bulk: a field's content up to the next byte that may end it.
			seg := in[i:]
			for k, b := range seg {
				if b == '\n' && l.state == cPlain || b == l.sep && l.state == cPlain || b == '"' && l.state == cQuoted {
					seg = seg[:k]
					break
				}
			}
			if !l.dropping {
				seg = seg[:min(len(seg), max(0, l.maxField-l.size))]
			}
			if len(seg) > 0 {
				lines := bytes.Count(seg, []byte{'\n'})
				l.line += lines
				l.size += len(seg)
				i += len(seg)
				if !l.dropping {
					out = append(out, seg...)
					continue
				}
				if l.kept += lines; l.kept > l.maxLines {
					return out, l.tooLong()
				}
				for ; lines > 0; lines-- {
					out = append(out, '\n')
				}
				continue
			}
		}
		var err error
		if out, err = l.feedByte(out, in[i]); err != nil {
			return out, err
		}
		i++
	}
	return out, nil
}

func (l *csvLimiter) tooLong() error {
	return &limitError{fmt.Sprintf("ligne %d : la colonne %d dépasse %d octets sur plus de %d lignes : le fichier n'est pas une liste lisible", l.recLine, l.field+1, l.maxField, l.maxLines)}
}

func (l *csvLimiter) feedByte(out []byte, b byte) ([]byte, error) {
	if l.recLine == 0 {
		l.recLine, l.field = l.line, 0
	}
	if b == '\n' {
		l.line++
	}
	switch l.state {
	case cStart:
		l.size, l.dropping, l.held = 0, false, l.held[:0]
		switch b {
		case '"':
			l.state = cQuoted
		case l.sep:
			return l.next(out, b)
		case '\n':
			return l.end(out, b), nil
		default:
			l.state = cPlain
			return l.content(out, b)
		}
	case cPlain:
		switch b {
		case l.sep:
			return l.next(out, b)
		case '\n':
			return l.end(out, b), nil
		}
		return l.content(out, b)
	case cQuoted:
		if b != '"' {
			return l.content(out, b)
		}
		l.state = cQuote // the field's end, or a quote in it: told by the next byte
		if l.dropping {
			l.held = append(l.held[:0], b)
			return out, nil
		}
	case cQuote:
		switch b {
		case l.sep:
			return l.next(append(out, l.held...), b)
		case '\n':
			return l.end(append(out, l.held...), b), nil
		case '\r': // "\r\n" ends the record; a bare quote and a CR else
			l.state = cQuoteCR
			if l.dropping {
				l.held = append(l.held, b)
				return out, nil
			}
			l.size++
		default: // "" (a quote in the value) or a bare quote and b
			l.state = cQuoted
			if l.dropping {
				l.held = l.held[:0]
				return out, nil
			}
			// Both bytes pass, whatever the limit: the reader must see
			// the pair whole.
			if l.size += 2; b == '"' {
				l.size--
			}
			if l.size > l.maxField {
				l.cut()
			}
		}
	case cQuoteCR:
		if b == '\n' {
			return l.end(append(out, l.held...), b), nil
		}
		l.state = cQuoted
		if l.dropping || b == '"' {
			l.held = l.held[:0] // dropped with the rest
			return l.feedByte(out, b)
		}
		// A bare quote and a CR passed: the byte after them passes too, or
		// the reader would read them with the next one that passes.
		if l.size++; l.size > l.maxField {
			l.cut()
		}
	}
	return append(out, b), nil
}

// cut notes the current field cut at its limit: its bytes are dropped
// from here.
func (l *csvLimiter) cut() {
	if !l.dropping {
		l.dropping, l.kept = true, 0
		l.overflows = append(l.overflows, overflow{line: l.recLine, column: l.field + 1})
	}
}

// content passes a field's byte up to the limit, then its line breaks.
func (l *csvLimiter) content(out []byte, b byte) ([]byte, error) {
	if l.size++; l.size <= l.maxField {
		return append(out, b), nil
	}
	l.cut()
	if b != '\n' {
		return out, nil
	}
	if l.kept++; l.kept > l.maxLines {
		return out, l.tooLong()
	}
	return append(out, b), nil
}

// next passes a separator: the record's next field.
func (l *csvLimiter) next(out []byte, b byte) ([]byte, error) {
	l.state, l.held = cStart, l.held[:0]
	if l.field++; l.field >= MaxCSVFields {
		return out, &limitError{fmt.Sprintf("ligne %d : plus de %d colonnes : le fichier n'est pas une liste lisible (le séparateur est-il le bon ?)", l.recLine, MaxCSVFields)}
	}
	return append(out, b), nil
}

// end passes a record's line break.
func (l *csvLimiter) end(out []byte, b byte) []byte {
	l.state, l.recLine, l.held = cStart, 0, l.held[:0]
	return append(out, b)
}

// take returns the column cut in the record starting on line, if any, and
// forgets the cuts of the records before it.
func (l *csvLimiter) take(line int) (column int, ok bool) {
	n := 0
	for n < len(l.overflows) && l.overflows[n].line <= line {
		if l.overflows[n].line == line && !ok {
			column, ok = l.overflows[n].column, true
		}
		n++
	}
	l.overflows = l.overflows[n:]
	return column, ok
}
