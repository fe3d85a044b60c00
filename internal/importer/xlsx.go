package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// MaxWorkbook bounds the workbooks read: a workbook is read whole in memory.
const MaxWorkbook = 256 << 20

// ReadXLSX reads a workbook's sheet (the first when sheet is empty) as a
// list, with the same mapping and rules as ReadCSV; dates may be Excel
// serial numbers.
func ReadXLSX(r io.Reader, sheet string, m Mapping, received domain.Date, fn func(Row) error) (CSVInfo, error) {
	info := CSVInfo{Format: FormatXLSX, Encoding: "UTF-8"}
	if err := m.Validate(); err != nil {
		return info, err
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxWorkbook+1))
	if err != nil {
		return info, err
	}
	if len(data) == 0 {
		return info, errors.New("le fichier est vide")
	}
	if len(data) > MaxWorkbook {
		return info, fmt.Errorf("le classeur dépasse %d Mio : enregistrez la feuille au format CSV", MaxWorkbook>>20)
	}
	if err := checkWorkbook(data); err != nil {
		return info, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: MaxWorkbookUnzipped})
	if err != nil {
		return info, fmt.Errorf("ce fichier n'est pas un classeur Excel (XLSX) lisible : %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return info, errors.New("le classeur n'a aucune feuille")
	}
	info.Sheet = sheets[0]
	if sheet != "" {
		info.Sheet = ""
		for _, s := range sheets {
			if strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(sheet)) {
				info.Sheet = s
			}
		}
		if info.Sheet == "" {
			return info, fmt.Errorf("le classeur n'a pas de feuille « %s » (feuilles : %s)", sheet, strings.Join(sheets, ", "))
		}
	}
	rows, err := f.GetRows(info.Sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return info, fmt.Errorf("feuille « %s » illisible : %v", info.Sheet, err)
	}
	props, _ := f.GetWorkbookProps()
	cr := cellReader{info: &info, serials: true, date1904: props.Date1904 != nil && *props.Date1904}
	return info, cr.read(&sheetTable{rows: rows}, m, received, fn)
}

// checkWorkbook streams the parts a list is read from (its sheets and
// shared strings) through the XML limits before excelize holds them
// (issue 20): a text node over what an Excel cell can hold, or markup over
// its limit, refuses the workbook saying where; so do parts that would
// decompress over MaxWorkbookUnzipped. A file that is no zip is left to
// excelize's own message.
func checkWorkbook(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	var total uint64
	for _, f := range zr.File {
		if total += f.UncompressedSize64; total > MaxWorkbookUnzipped {
			return fmt.Errorf("le classeur décompressé dépasse %d Mio : enregistrez la feuille au format CSV", MaxWorkbookUnzipped>>20)
		}
	}
	for _, f := range zr.File {
		if f.Name != "xl/sharedStrings.xml" && !(strings.HasPrefix(f.Name, "xl/worksheets/") && strings.HasSuffix(f.Name, ".xml")) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("ce fichier n'est pas un classeur Excel (XLSX) lisible : %s : %v", f.Name, err)
		}
		l, r := newXMLLimiter(rc)
		l.maxText, l.kind = MaxWorkbookTextBytes, "un classeur"
		_, err = io.Copy(io.Discard, r)
		rc.Close()
		var le *limitError
		switch {
		case errors.As(err, &le):
			return fmt.Errorf("classeur illisible (%s) : %v", f.Name, le)
		case err != nil:
			return fmt.Errorf("ce fichier n'est pas un classeur Excel (XLSX) lisible : %s : %v", f.Name, err)
		case len(l.overflows) > 0:
			o := l.overflows[0]
			return fmt.Errorf("classeur refusé : %s (%s, ligne %d) dépasse %d octets, plus qu'une cellule Excel n'en contient", o.what, f.Name, o.line, MaxWorkbookTextBytes)
		}
	}
	return nil
}

// sheetTable is a sheet's rows; its header is the first row not blank.
type sheetTable struct {
	rows [][]string
	i    int
}

func (t *sheetTable) header() ([]string, error) {
	for ; t.i < len(t.rows); t.i++ {
		if !blank(t.rows[t.i]) {
			t.i++
			return t.rows[t.i-1], nil
		}
	}
	return nil, errors.New("la feuille est vide")
}

func (t *sheetTable) next() (rawRow, error) {
	if t.i >= len(t.rows) {
		return rawRow{}, io.EOF
	}
	t.i++
	cells := t.rows[t.i-1]
	for j, c := range cells {
		cells[j] = plainNumber(c)
	}
	return rawRow{line: t.i, cells: cells}, nil
}

// plainNumber writes a number a workbook stores in scientific notation (a
// NIR typed as a number: 1.23456789012311E+14) with its digits.
func plainNumber(s string) string {
	if !strings.ContainsAny(s, "eE") || strings.ContainsAny(s, " /-") && !strings.Contains(s, "E-") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
