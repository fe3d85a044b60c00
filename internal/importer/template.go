package importer

import (
	"encoding/csv"
	"io"

	"github.com/xuri/excelize/v2"
)

// TemplateHeader is the header of the reprise template: each field's
// label, a « * » after the required ones.
func TemplateHeader() []string {
	out := make([]string, len(Fields))
	for i, f := range Fields {
		out[i] = f.Label
		if f.Required == Required {
			out[i] += " *"
		}
	}
	return out
}

// WriteTemplateCSV writes the template as a CSV list (UTF-8 with BOM,
// semicolons), header only.
func WriteTemplateCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	if err := cw.Write(TemplateHeader()); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteTemplateXLSX writes the template as a workbook: one sheet
// « Reprise » with the header, dates columns formatted JJ/MM/AAAA.
func WriteTemplateXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Reprise"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	header := TemplateHeader()
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(header), 1)
	if err := f.SetCellStyle(sheet, "A1", last, bold); err != nil {
		return err
	}
	col, _ := excelize.ColumnNumberToName(len(header))
	if err := f.SetColWidth(sheet, "A", col, 22); err != nil {
		return err
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}
