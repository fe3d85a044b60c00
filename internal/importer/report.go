package importer

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/parcours-rsa/parcours/internal/postgres"
)

// WriteRejects writes an import's rejected lines as a CSV that spreadsheets
// open as they are (UTF-8 with BOM, semicolons).
func WriteRejects(w io.Writer, rejects []postgres.ImportReject) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	if err := cw.Write([]string{"ligne", "motif du rejet"}); err != nil {
		return err
	}
	for _, r := range rejects {
		if err := cw.Write([]string{strconv.Itoa(r.Line), r.Reason}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
