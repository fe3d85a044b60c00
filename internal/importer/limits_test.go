package importer

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hugeField is the size of the field the tests stream (never a file on
// disk, never whole in memory): a reader that holds it would show.
const hugeField = 64 << 20

// repeated is pattern repeated until n bytes.
type repeated struct {
	pattern []byte
	n, off  int64
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.off < r.n {
		c := copy(p[k:min(len(p), k+int(r.n-r.off))], r.pattern[r.off%int64(len(r.pattern)):])
		k += c
		r.off += int64(c)
	}
	return k, nil
}

// withHuge streams data with its marker replaced by n bytes of pattern.
func withHuge(t *testing.T, data []byte, marker, pattern string, n int64) io.Reader {
	t.Helper()
	before, after, ok := bytes.Cut(data, []byte(marker))
	require.True(t, ok, "marker %q not in the file", marker)
	return io.MultiReader(bytes.NewReader(before), &repeated{pattern: []byte(pattern), n: n}, bytes.NewReader(after))
}

// allocated is how many bytes fn allocates, and how much the heap in use
// grew while it ran (the tests of this file are not parallel).
func allocated(fn func()) (total, inuse int64) {
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return int64(b.TotalAlloc - a.TotalAlloc), int64(b.HeapInuse) - int64(a.HeapInuse)
}

func requireBounded(t *testing.T, total, inuse int64) {
	t.Helper()
	t.Logf("a %d-MiB field: %.1f MiB allocated, heap in use %+.1f MiB", hugeField>>20, float64(total)/(1<<20), float64(inuse)/(1<<20))
	require.Less(t, total, int64(hugeField/8), "memory bounded: far under the field's size")
	require.Less(t, inuse, int64(hugeField/8))
}

// TestFluxHugeTextNode: a 64-MiB name in a flux (issue 20: 200 MB raised
// the memory by 860 MiB) is cut as it streams; its household is rejected
// with the element and the line, and the households after it are read,
// with their right lines.
func TestFluxHugeTextNode(t *testing.T) {
	for _, enc := range []string{"UTF-8", "windows-1252"} {
		t.Run(enc, func(t *testing.T) {
			g := sampleFlux(enc)
			g.Households[0].Persons[0].LastName = "ÉNORME"
			data := encode(t, g)
			_, want, err := readAll(t, data)
			require.NoError(t, err)
			marker := "ÉNORME"
			if enc != "UTF-8" {
				marker = "\xc9NORME"
			}
			var hs []Household
			total, inuse := allocated(func() {
				_, err = ReadFlux(withHuge(t, data, marker, "LEFÈVRE ", hugeField), func(h Household) error {
					hs = append(hs, h)
					return nil
				})
			})
			require.NoError(t, err)
			requireBounded(t, total, inuse)
			require.Len(t, hs, 3)
			require.Error(t, hs[0].Err)
			require.Regexp(t, `^le contenu de <NOM> \(ligne \d+\) dépasse 4096 octets, quand un champ de flux en compte au plus 200 : foyer non lu$`, hs[0].Err.Error())
			require.Empty(t, hs[0].Persons)
			for i := 1; i < 3; i++ {
				require.NoError(t, hs[i].Err)
				require.Equal(t, want[i].Line, hs[i].Line, "the lines after the cut stay right")
				require.Equal(t, want[i].Persons, hs[i].Persons)
			}
		})
	}
}

// TestFluxHugeTextNodeOfLines: the line breaks of a cut text node are kept
// (the lines after it stay right), up to the limit: past it, the file is
// refused, still in bounded memory.
func TestFluxHugeTextNodeOfLines(t *testing.T) {
	g := sampleFlux("UTF-8")
	g.Households[1].Persons[0].FirstName = "GÉANT"
	var err error
	total, inuse := allocated(func() {
		_, err = ReadFlux(withHuge(t, encode(t, g), "GÉANT", "ZOÉ\n", hugeField), nil)
	})
	requireBounded(t, total, inuse)
	require.Error(t, err)
	require.Regexp(t, `^ligne \d+ : le contenu de <PRENOM> dépasse 4096 octets : le fichier n'est pas un flux lisible$`, err.Error())
}

// TestFluxHugeMarkup: a huge attribute or comment stops the reading with
// the line, in bounded memory.
func TestFluxHugeMarkup(t *testing.T) {
	data := encode(t, sampleFlux("UTF-8"))
	for _, c := range []struct{ name, replace, with, pattern, want string }{
		{"attribute", "<NOM>", `<NOM a="@@">`, "x", `^ligne \d+ : la balise <NOM> dépasse 4096 octets`},
		{"comment", "<NOM>", `<!--@@--><NOM>`, "x", `^ligne \d+ : un commentaire dépasse 65536 octets`},
		{"CDATA", "<NOM>", `<NOM><![CDATA[@@]]>`, "<x>", `^ligne \d+ : une section CDATA dépasse 4096 octets`},
		{"directive", "<Racine", `<!DOCTYPE Racine [<!ENTITY a "@@">]><Racine`, "<>", `^ligne \d+ : une déclaration <!…> dépasse 4096 octets`},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := bytes.Replace(data, []byte(c.replace), []byte(c.with), 1)
			var err error
			total, inuse := allocated(func() {
				_, err = ReadFlux(withHuge(t, doc, "@@", c.pattern, hugeField), nil)
			})
			requireBounded(t, total, inuse)
			require.Error(t, err)
			require.Regexp(t, c.want, err.Error())
		})
	}
}

// TestFluxFieldLengths: each field read is held to its length in the
// flux's schema; the household is rejected, saying which.
func TestFluxFieldLengths(t *testing.T) {
	g := sampleFlux("UTF-8")
	g.Households[1].Persons[0].LastName = strings.Repeat("N", 29)
	_, hs, err := readAll(t, encode(t, g))
	require.NoError(t, err)
	require.EqualError(t, hs[1].Err, "personne 1 : <NOM> compte 29 caractères, au plus 28 dans un flux CNAF/MSA")
	assert.NoError(t, hs[0].Err)
	g.Households[1].Persons[0].LastName = strings.Repeat("É", 28)
	_, hs, err = readAll(t, encode(t, g))
	require.NoError(t, err)
	require.NoError(t, hs[1].Err, "28 characters, whatever their bytes")
}

// A text node exactly at its limit is read whole; one byte more is cut.
func TestXMLLimiterBoundary(t *testing.T) {
	read := func(text string) ([]overflow, string) {
		l, r := newXMLLimiter(strings.NewReader("<a>" + text + "</a>"))
		out, err := io.ReadAll(r)
		require.NoError(t, err)
		return l.overflows, string(out)
	}
	at := strings.Repeat("é", MaxTextBytes/2)
	o, out := read(at)
	require.Empty(t, o)
	require.True(t, out == "<a>"+at+"</a>", "read whole")
	o, out = read(at + "x&amp;y")
	require.Len(t, o, 1)
	require.Equal(t, overflow{line: 1, what: "le contenu de <a>"}, o[0])
	require.True(t, out == "<a>"+at+"</a>", "cut between two characters: %q", out[len(out)-12:])
	o, out = read(strings.Repeat("x", MaxTextBytes-2) + "&amp;y")
	require.Len(t, o, 1)
	require.True(t, strings.HasSuffix(out, "xx&amp;</a>") && len(out) == MaxTextBytes+3+3+4, "never inside an entity: %q", out[len(out)-12:])
	o, _ = read(strings.Repeat("x", MaxTextBytes-1) + "é")
	require.Len(t, o, 0)
	o, out = read(strings.Repeat("x", MaxTextBytes-1) + "éé")
	require.Len(t, o, 1)
	require.True(t, strings.HasSuffix(out, "xé</a>") && len(out) == MaxTextBytes+1+3+4, "never inside a UTF-8 character: %q", out[len(out)-12:])
}

// readCSVStream reads a CSV list from r, measuring its memory.
func readCSVStream(t *testing.T, r io.Reader) ([]Row, int64, int64, error) {
	t.Helper()
	var rows []Row
	var err error
	total, inuse := allocated(func() {
		_, err = ReadCSV(r, DefaultMapping(), listDay, func(row Row) error { rows = append(rows, row); return nil })
	})
	return rows, total, inuse, err
}

// TestCSVHugeField: a 64-MiB field of a CSV list (issue 20: held whole)
// is cut as it streams; its row is rejected naming the column, the rows
// after it are read, with their right lines. Quoted or not, with
// separators, quotes and line breaks inside.
func TestCSVHugeField(t *testing.T) {
	three := contacts + "0346146,DEMANDEUR,MADAME,,0102404107,01/01/2026,15/02/2026,MARTIN,ZOÉ,05/02/1990,,,\r\n"
	for _, c := range []struct{ name, with, pattern, suffix string }{
		{"plain", "DUPONT", "DUPONT ", ""},
		{"quoted", `"DUPONT`, `a,""b;c `, `"`},
		{"quoted, some line breaks", `"DUPONT`, strings.Repeat("x", 1<<20) + "\r\n", `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(strings.Replace(three, "DUPONT", c.with+"@@"+c.suffix, 1))
			n := int64(hugeField)
			extra := 0
			if strings.Contains(c.pattern, "\n") {
				n = 8 * int64(len(c.pattern)) // 8 line breaks inside the field
				extra = 8
			}
			rows, total, inuse, err := readCSVStream(t, withHuge(t, data, "@@", c.pattern, n))
			require.NoError(t, err)
			if n == hugeField {
				requireBounded(t, total, inuse)
			}
			require.Len(t, rows, 3)
			require.EqualError(t, rows[0].Err, "colonne 8 « NOM RESPONSABLE DOSSIER » : le champ dépasse 4096 octets, bien plus qu'une cellule de liste n'en contient ; ligne non lue")
			require.Equal(t, 2, rows[0].Line)
			for i, name := range []string{"LEFÈVRE", "MARTIN"} {
				r := rows[i+1]
				require.NoError(t, r.Err)
				require.Equal(t, name, r.Person.LastName)
				require.Equal(t, 3+i+extra, r.Line, "the lines after the cut stay right")
			}
		})
	}
}

// TestCSVHugeRecord: a field of too many line breaks, or a record of too
// many fields, stops the reading with the line, in bounded memory.
func TestCSVHugeRecord(t *testing.T) {
	for _, c := range []struct{ name, with, pattern, want string }{
		{"line breaks", `"DUPONT@@"`, "\n", `^ligne 2 : la colonne 8 dépasse 4096 octets sur plus de 4096 lignes : le fichier n'est pas une liste lisible$`},
		{"fields", `DUPONT@@`, ",", `^ligne 2 : plus de 1000 colonnes : le fichier n'est pas une liste lisible \(le séparateur est-il le bon \?\)$`},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(strings.Replace(contacts, "DUPONT", c.with, 1))
			_, total, inuse, err := readCSVStream(t, withHuge(t, data, "@@", c.pattern, hugeField))
			requireBounded(t, total, inuse)
			require.Error(t, err)
			require.Regexp(t, c.want, err.Error())
		})
	}
}

// A field whose value is exactly at its limit is read whole, quoted or
// not; one byte more is cut.
func TestCSVFieldAtLimit(t *testing.T) {
	at := strings.Repeat("A", MaxCSVFieldBytes)
	_, rows, err := readRows(t, []byte(strings.Replace(contacts, "DUPONT", at, 1)), DefaultMapping())
	require.NoError(t, err)
	require.NoError(t, rows[0].Err)
	require.True(t, rows[0].Person.LastName == at)
	quoted := at[1:]
	_, rows, err = readRows(t, []byte(strings.Replace(contacts, "DUPONT", `"`+quoted+`"""`, 1)), DefaultMapping())
	require.NoError(t, err)
	require.NoError(t, rows[0].Err)
	require.True(t, rows[0].Person.LastName == quoted+`"`)
	_, rows, err = readRows(t, []byte(strings.Replace(contacts, "DUPONT", `"`+quoted+`A"""`, 1)), DefaultMapping())
	require.NoError(t, err)
	require.Error(t, rows[0].Err)
	require.NoError(t, rows[1].Err)
}

// TestCSVLimiterKeepsRecords: whatever the bytes (quotes, bare quotes,
// separators, CR and LF in any order), the reader sees through the
// limiter the same records and fields as in the file, a cut field only
// shorter: the limiter follows encoding/csv's reading, and its cuts never
// move a field's end.
func TestCSVLimiterKeepsRecords(t *testing.T) {
	alphabet := []byte{'a', 'b', ',', '"', '"', '\n', '\r'}
	rng := rand.New(rand.NewPCG(20, 6))
	records := func(r io.Reader) ([][]string, error) {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord, cr.LazyQuotes = -1, true
		return cr.ReadAll()
	}
	for i := 0; i < 20000; i++ {
		doc := make([]byte, 1+rng.IntN(40))
		for j := range doc {
			doc[j] = alphabet[rng.IntN(len(alphabet))]
		}
		want, wantErr := records(bytes.NewReader(doc))
		l, limited := newCSVLimiter(bytes.NewReader(doc), ',')
		l.maxField, l.maxLines = 3, 100
		got, err := records(limited)
		require.Equal(t, wantErr == nil, err == nil, "%q: %v / %v", doc, wantErr, err)
		require.Len(t, got, len(want), "%q", doc)
		for r := range want {
			require.Len(t, got[r], len(want[r]), "%q, record %d: %q / %q", doc, r, want[r], got[r])
		}
		if len(l.overflows) == 0 {
			require.Equal(t, want, got, "%q: nothing cut, nothing changed", doc)
		}
	}
}

// rezip copies a workbook, the part holding marker getting it replaced by
// n bytes of pattern as it is compressed (never whole in memory), and
// extra parts added.
func rezip(t *testing.T, data []byte, marker, pattern string, n int64, extra ...*zip.FileHeader) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		part, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		w, err := zw.Create(f.Name)
		require.NoError(t, err)
		var r io.Reader = bytes.NewReader(part)
		if marker != "" && bytes.Contains(part, []byte(marker)) {
			found = true
			r = withHuge(t, part, marker, pattern, n)
		}
		_, err = io.Copy(w, r)
		require.NoError(t, err)
	}
	for _, h := range extra {
		_, err := zw.CreateRaw(h)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.True(t, found || marker == "", "marker %q in no part", marker)
	return out.Bytes()
}

var workbookHeader = []any{"NIR", "Nom", "Prénom", "Date de naissance", "Date d'entrée en droits et devoirs"}

// TestXLSXHugeCell: a 64-MiB cell in a workbook (its shared strings, as
// Excel writes them) is refused before the workbook is opened, saying
// where, in bounded memory.
func TestXLSXHugeCell(t *testing.T) {
	data := workbook(t, map[string][][]any{"Liste": {
		workbookHeader,
		{"2820251108030", "@@ÉNORME@@", "Hélène", "05/02/1982", "01/02/2025"},
		{"1810693050030", "MARTIN", "Paul", "05/03/1982", "01/02/2025"},
	}}, "Liste")
	data = rezip(t, data, "@@ÉNORME@@", "LEFÈVRE ", hugeField)
	t.Logf("the workbook: %d KiB compressed", len(data)>>10)
	var err error
	total, inuse := allocated(func() {
		_, _, err = readXLSX(t, data, "")
	})
	requireBounded(t, total, inuse)
	require.Error(t, err)
	require.Regexp(t, `^classeur refusé : le contenu de <t> \(xl/sharedStrings\.xml, ligne \d+\) dépasse 131072 octets, plus qu'une cellule Excel n'en contient$`, err.Error())
}

// TestXLSXLargeCellRejectsItsRow: a cell over a list's field limit (but
// one Excel can hold) rejects its row, naming the column; the others are
// read.
func TestXLSXLargeCellRejectsItsRow(t *testing.T) {
	data := workbook(t, map[string][][]any{"Liste": {
		workbookHeader,
		{"2820251108030", strings.Repeat("L", 10000), "Hélène", "05/02/1982", "01/02/2025"},
		{"1810693050030", "MARTIN", "Paul", "05/03/1982", "01/02/2025"},
	}}, "Liste")
	_, rows, err := readXLSX(t, data, "")
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.EqualError(t, rows[0].Err, "colonne 2 « Nom » : la cellule compte 10000 octets, au plus 4096 dans une liste")
	require.NoError(t, rows[1].Err)
	require.Equal(t, "MARTIN", rows[1].Person.LastName)
}

// TestXLSXUnzipBound: parts that would decompress over the bound refuse
// the workbook before anything is decompressed.
func TestXLSXUnzipBound(t *testing.T) {
	data := workbook(t, map[string][][]any{"Liste": {workbookHeader}}, "Liste")
	data = rezip(t, data, "", "", 0, &zip.FileHeader{Name: "xl/media/bombe.bin", Method: zip.Store, UncompressedSize64: 2 << 30})
	_, _, err := readXLSX(t, data, "")
	require.EqualError(t, err, "le classeur décompressé dépasse 1024 Mio : enregistrez la feuille au format CSV")
}

// TestXMLLimiterKeepsElements: whatever the markup (attributes holding
// '>', comments, CDATA, processing instructions, directives, entities,
// multi-byte characters), the decoder sees through the limiter the same
// elements as in the file, and a text only shorter: the limiter follows
// encoding/xml's reading, and its cuts never move markup.
func TestXMLLimiterKeepsElements(t *testing.T) {
	pieces := []string{"<a>", "</a>", "<b x='>\"'/>", `<b y=">'"/>`, "x", "é", "&amp;", "&#233;", "\n", "<!--c>-->",
		"<![CDATA[<>]]>", "<?p >?>", "z\r\n"}
	rng := rand.New(rand.NewPCG(11, 7))
	type token struct {
		kind, name string
		text       string
	}
	tokens := func(r io.Reader) ([]token, error) {
		dec := xml.NewDecoder(r)
		var out []token
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			switch x := tok.(type) {
			case xml.StartElement:
				out = append(out, token{kind: "start", name: x.Name.Local})
			case xml.EndElement:
				out = append(out, token{kind: "end", name: x.Name.Local})
			case xml.CharData:
				out = append(out, token{kind: "text", text: string(x)})
			case xml.Comment:
				out = append(out, token{kind: "comment"})
			case xml.ProcInst:
				out = append(out, token{kind: "pi", name: x.Target})
			case xml.Directive:
				out = append(out, token{kind: "directive", text: string(x)})
			}
		}
	}
	for i := 0; i < 20000; i++ {
		var doc strings.Builder
		if rng.IntN(4) == 0 {
			doc.WriteString(`<!DOCTYPE r [<!ENTITY e "<'>"> <!-- '> -->]>`)
		}
		doc.WriteString("<r>")
		for range 1 + rng.IntN(12) {
			doc.WriteString(pieces[rng.IntN(len(pieces))])
		}
		doc.WriteString("</r>")
		want, wantErr := tokens(strings.NewReader(doc.String()))
		if wantErr != nil {
			continue // not well-formed: the decoder refuses it either way
		}
		l, limited := newXMLLimiter(strings.NewReader(doc.String()))
		l.maxText, l.maxLines = 3, 100
		got, err := tokens(limited)
		require.NoError(t, err, "%q", doc.String())
		require.Len(t, got, len(want), "%q", doc.String())
		for k := range want {
			w, g := want[k], got[k]
			require.Equal(t, w.kind, g.kind, "%q, token %d", doc.String(), k)
			require.Equal(t, w.name, g.name, "%q, token %d", doc.String(), k)
			if w.kind == "text" {
				require.True(t, strings.HasPrefix(w.text, strings.TrimRight(g.text, "\n")) || strings.Count(g.text, "\n") > 0,
					"%q, token %d: %q / %q", doc.String(), k, w.text, g.text)
			} else {
				require.Equal(t, w.text, g.text, "%q, token %d", doc.String(), k)
			}
		}
		if len(l.overflows) == 0 {
			require.Equal(t, want, got, "%q: nothing cut, nothing changed", doc.String())
		}
	}
}

// TestHugeHeaderField: a field cut in a flux's header or a list's header
// line refuses the file, saying where.
func TestHugeHeaderField(t *testing.T) {
	data := bytes.Replace(encode(t, sampleFlux("UTF-8")), []byte("<APPLIEME>CRI"), []byte("<APPLIEME>@@"), 1)
	_, err := ReadFlux(withHuge(t, data, "@@", "CRI", 1<<20), nil)
	require.Error(t, err)
	require.Regexp(t, `^ligne 4 : le contenu de <APPLIEME> dépasse 4096 octets : l'en-tête ou la fin du flux est illisible$`, err.Error())

	_, err = ReadCSV(withHuge(t, []byte(strings.Replace(contacts, "MATRICULE", "@@", 1)), "@@", "M", 1<<20), DefaultMapping(), listDay, nil)
	require.EqualError(t, err, "ligne d'en-tête illisible : la colonne 1 dépasse 4096 octets")
}
