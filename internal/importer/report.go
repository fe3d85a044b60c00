package importer

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// ReportKindFrench names a report line's kind for people.
func ReportKindFrench(kind string) string {
	switch kind {
	case postgres.ReportWarning:
		return "avertissement"
	case postgres.ReportInfo:
		return "information"
	}
	return "rejet"
}

// WriteRejects writes an import's report lines (rejects, warnings and
// information) as a CSV that spreadsheets open as they are (UTF-8 with
// BOM, semicolons).
func WriteRejects(w io.Writer, rejects []postgres.ImportReject) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	if err := cw.Write([]string{"ligne", "motif du rejet", "nature"}); err != nil {
		return err
	}
	for _, r := range rejects {
		if err := cw.Write([]string{strconv.Itoa(r.Line), r.Reason, ReportKindFrench(r.Kind)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
