package importer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// PreviewSamples is how many lines of each resulting status a preview shows.
const PreviewSamples = 5

// Preview is what an import would do, computed before anything is written:
// what each line will become (domain.Foresee), every reject and warning.
type Preview struct {
	FileName string         `json:"file_name"`
	Format   string         `json:"format"`
	SHA256   string         `json:"sha256"`
	Info     map[string]any `json:"info,omitempty"`
	Total    int            `json:"total"` // people (flux) or rows (lists)
	// Counts per resulting status, in domain.Statuses order.
	Counts     []PreviewCount `json:"counts"`
	Overdue    int            `json:"overdue"`     // a limit already passed with nothing done
	HandedOver int            `json:"handed_over"` // the orientation goes to France Travail
	Stock      int            `json:"stock"`       // the stock contract is due (StockDue)
	StockDue   domain.Date    `json:"stock_due"`   // 1 January 2027, 2028 overseas
	Ignored    int            `json:"ignored"`     // not subject to droits et devoirs, or their right ended
	Rejected   int            `json:"rejected"`
	Warned     int            `json:"warned"` // lines applied with a warning
	// Samples are the first lines of each status.
	Samples []PreviewLine `json:"samples"`
	// Report is every reject and warning, in file order.
	Report []postgres.ImportReject `json:"report"`
}

// PreviewCount is the number of lines that will reach a status.
type PreviewCount struct {
	Status domain.Status `json:"status"`
	Label  string        `json:"label"`
	Count  int           `json:"count"`
}

// PreviewLine is one line and what it will become.
type PreviewLine struct {
	Line      int           `json:"line"`
	LastName  string        `json:"last_name"`
	FirstName string        `json:"first_name"`
	Status    domain.Status `json:"status"`
	Label     string        `json:"label"` // the status and the notes, in French
}

// Preview reads a file as Run would and says what importing it would do;
// nothing is written but the audit line. A file Run would refuse returns
// the same error.
func (im *Importer) Preview(ctx context.Context, a domain.Actor, src Source, opt Options) (Preview, error) {
	pv := Preview{FileName: src.Name, Info: map[string]any{}, StockDue: domain.StockDeadlineFor(im.Service.Settings.Overseas).DueOn}
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		return pv, domain.Errorf(domain.EFORBIDDEN, "Votre rôle (%s) ne permet pas d'importer des bénéficiaires.", a.Role)
	}
	if err := im.defaults(ctx, &opt); err != nil {
		return pv, err
	}
	f, err := src.Open()
	if err != nil {
		return pv, fmt.Errorf("ouverture du fichier : %v", err)
	}
	defer f.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, h), 64<<10)
	if opt.Format == "" {
		opt.Format = detect(br)
	}
	pv.Format = opt.Format
	today := im.today()
	counts := map[domain.Status]int{}
	shown := map[domain.Status]int{}
	add := func(p domain.ImportedPerson, warnings []string) {
		pv.Total++
		line := p.Line
		for _, w := range warnings {
			pv.Report = append(pv.Report, postgres.ImportReject{Line: line, Kind: postgres.ReportWarning, Reason: w})
		}
		if len(warnings) > 0 {
			pv.Warned++
		}
		p.Normalize()
		err := p.Validate(today)
		if err == nil {
			err = p.Reprise.Validate(p.EnteredOn, today) // what the import refuses, the preview shows
		}
		if err != nil {
			pv.Rejected++
			pv.Report = append(pv.Report, postgres.ImportReject{Line: line, Kind: postgres.ReportReject, Reason: domain.ErrorMessage(err)})
			return
		}
		state := p.Situation.State
		if !p.Subject || state != "" && state != domain.PayerOpen && state != domain.PayerSuspended {
			pv.Ignored++
			return
		}
		fs := im.Service.Foresee(p) // the service's policy and overseas setting
		counts[fs.Status]++
		label := fs.Status.French()
		if fs.Overdue {
			pv.Overdue++
			label += ", en retard"
		}
		if fs.HandedOver {
			pv.HandedOver++
			label += ", orientation confiée à France Travail"
		}
		if fs.Stock {
			pv.Stock++
			label += ", contrat dû au titre de la campagne du 1er janvier 2027"
		}
		if shown[fs.Status] < PreviewSamples {
			shown[fs.Status]++
			pv.Samples = append(pv.Samples, PreviewLine{Line: line, LastName: p.LastName, FirstName: p.FirstName, Status: fs.Status, Label: label})
		}
	}
	reject := func(line int, err error) {
		pv.Total++
		pv.Rejected++
		pv.Report = append(pv.Report, postgres.ImportReject{Line: line, Kind: postgres.ReportReject, Reason: err.Error()})
	}
	switch opt.Format {
	case FormatFlux:
		info, err := ReadFlux(br, func(hh Household) error {
			if hh.Err != nil {
				reject(hh.Line, fmt.Errorf("foyer rejeté : %v", hh.Err))
				return nil
			}
			for _, p := range hh.Persons {
				p.Line = hh.Line
				add(p, nil)
			}
			if len(hh.Persons) == 0 {
				pv.Total++
				pv.Ignored++
			}
			return nil
		})
		if err != nil {
			return pv, refused(err)
		}
		pv.Info["flux_created_on"] = info.CreatedOn.String()
		pv.Info["households"] = info.Households
	case FormatCSV, FormatXLSX:
		info, err := readList(br, opt, func(r Row) error {
			if r.Err != nil {
				for _, w := range r.Warnings {
					pv.Report = append(pv.Report, postgres.ImportReject{Line: r.Line, Kind: postgres.ReportWarning, Reason: w})
				}
				reject(r.Line, r.Err)
				return nil
			}
			add(r.Person, r.Warnings)
			return nil
		})
		if err != nil {
			var mc *MissingColumnsError
			if errors.As(err, &mc) {
				pv.Info["missing_columns"] = mc.Missing
			}
			return pv, refused(err)
		}
		run := postgres.ImportRun{Info: pv.Info}
		listInfo(&run, info)
	default:
		return pv, refused(fmt.Errorf("format inconnu %q (flux, csv ou xlsx)", opt.Format))
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return pv, err
	}
	pv.SHA256 = hex.EncodeToString(h.Sum(nil))
	for _, s := range domain.Statuses {
		pv.Counts = append(pv.Counts, PreviewCount{Status: s, Label: s.French(), Count: counts[s]})
	}
	err = im.Service.DB.Audit(ctx, postgres.AuditEntry{Actor: a, Action: "preview", RecordType: "import", RecordID: pv.SHA256,
		Detail: map[string]any{"file": pv.FileName, "format": pv.Format, "total": pv.Total, "rejected": pv.Rejected}})
	return pv, err
}

func refused(err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	return domain.Errorf(domain.EINVALID, "Fichier refusé : %s", err.Error())
}

// Rejects are the preview's rejects; Warnings its warnings.
func (pv Preview) Rejects() []postgres.ImportReject { return pv.kind(postgres.ReportReject) }

// Warnings are the preview's warning lines.
func (pv Preview) Warnings() []postgres.ImportReject { return pv.kind(postgres.ReportWarning) }

func (pv Preview) kind(k string) []postgres.ImportReject {
	var out []postgres.ImportReject
	for _, r := range pv.Report {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}
