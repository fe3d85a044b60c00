package importer

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/app"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// Formats of the files the importer reads.
const (
	FormatFlux = "flux" // CAF/MSA flux bénéficiaires (XML, vrsb0801)
	FormatCSV  = "csv"  // a list of people in droits et devoirs
	FormatXLSX = "xlsx" // the same list, as an Excel workbook
)

// Source is a file to import; Open is called once per pass.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// FileSource reads a file on disk.
func FileSource(name, path string) Source {
	return Source{Name: name, Open: func() (io.ReadCloser, error) { return openFile(path) }}
}

// Options tune one import.
type Options struct {
	Format   string      // "" to detect from the content
	Workers  int         // people applied at once (default 8)
	Mapping  Mapping     // list columns; nil: the département's, else DefaultMapping
	Received domain.Date // date a list was received (default: today)
	Sheet    string      // the workbook's sheet to read ("" the first)
	// Progress is called about twice a second while the import runs, and
	// once at its end.
	Progress func(postgres.ImportRun)
	// Counted is called with each person's outcome (for metrics).
	Counted func(outcome string)
	// Created is called with the import's id once it is recorded (also when
	// the file is refused).
	Created func(id string)
}

// Importer applies files through the service.
type Importer struct {
	Service *app.Service
	Logger  *slog.Logger
	TempDir string // where uploads wait while imported ("" for the system's)
	// Counted, when set, is called with each person's outcome of every
	// import this importer runs (metrics), besides Options.Counted.
	Counted func(outcome string)
	// AttemptTimeout bounds each attempt at a person (default
	// DefaultAttemptTimeout).
	AttemptTimeout time.Duration
	// Lease is how long a run of this importer stays « en cours » without
	// writing its progress (postgres.DefaultImportLease when zero).
	Lease time.Duration
	// GiveUpAfter is how long the Temporal server may stay unreachable
	// before the import stops (DefaultGiveUpAfter when zero).
	GiveUpAfter time.Duration
}

// DefaultGiveUpAfter: an import stops once Temporal has not answered a
// health check for this long, instead of waiting for every attempt at
// every person to time out. Before it, `parcours import` whose service was
// killed waited six minutes to give up (TestImportCommandAndKill9).
const DefaultGiveUpAfter = 30 * time.Second

// healthProbe is how often an import checks that Temporal answers.
const healthProbe = 5 * time.Second

// DefaultAttemptTimeout bounds one attempt at a person. Without it, an
// import whose Temporal server went away (parcours serve killed under
// parcours import) waited forever: the SDK retries an unreachable server
// until the call's context ends. After the last attempt the import stops,
// « interrompu »; the people already written are started by the service's
// reconciliation, and the same file imported again finishes the rest.
const DefaultAttemptTimeout = 2 * time.Minute

// job is one person to apply, or a row already rejected by the parser.
type job struct {
	line     int
	person   domain.ImportedPerson
	err      error
	warnings []string
}

// Run imports a file: it checks the whole file first (a file that is not
// what it claims, or is truncated, is refused and nothing is written), then
// applies every person, rejecting the bad ones with their line and reason.
// Re-running the same file changes nothing; a run interrupted by a crash is
// finished by running it again.
func (im *Importer) Run(ctx context.Context, a domain.Actor, src Source, opt Options) (postgres.ImportRun, error) {
	ctx = app.WithoutIdempotencyKey(ctx) // the request's key is not each person's command's
	run := postgres.ImportRun{FileName: src.Name, Actor: a.ID, Status: "running", Info: map[string]any{}, Owner: owner, Lease: im.Lease}
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		return run, domain.Errorf(domain.EFORBIDDEN, "Votre rôle (%s) ne permet pas d'importer des bénéficiaires.", a.Role)
	}
	if opt.Workers <= 0 {
		opt.Workers = 8
	}
	if im.Counted != nil {
		own, each := im.Counted, opt.Counted
		opt.Counted = func(outcome string) {
			own(outcome)
			if each != nil {
				each(outcome)
			}
		}
	}
	if err := im.defaults(ctx, &opt); err != nil {
		return run, err
	}

	// Pass 1: hash, detect, check.
	total, err := im.check(src, &run, &opt)
	if err != nil {
		var de *domain.Error
		if !errors.As(err, &de) {
			err = domain.Errorf(domain.EINVALID, "Fichier refusé : %s", err.Error())
		}
		run.Status, run.Message = "refused", domain.ErrorMessage(err)
		if run.ID, err = im.Service.DB.CreateImport(ctx, run); err != nil {
			return run, err
		}
		if err := im.Service.DB.ImportProgress(ctx, run, nil, 0); err != nil {
			return run, err
		}
		if opt.Created != nil {
			opt.Created(run.ID)
		}
		im.log(ctx, a, run)
		return run, domain.Errorf(domain.EINVALID, "%s", run.Message)
	}
	run.Total = total
	if run.ID, err = im.Service.DB.CreateImport(ctx, run); err != nil {
		return run, err
	}
	if opt.Created != nil {
		opt.Created(run.ID)
	}

	// Pass 2: apply.
	err = im.apply(ctx, a, src, &run, opt)
	switch {
	case err != nil:
		run.Status = "failed"
		run.Message = "Import interrompu : " + domain.ErrorMessage(err) + " Relancez-le : ce qui est déjà importé ne sera pas dupliqué."
	default:
		run.Status = "done"
	}
	if werr := im.Service.DB.ImportProgress(context.WithoutCancel(ctx), run, nil, 0); werr != nil {
		return run, errors.Join(err, werr)
	}
	if opt.Progress != nil {
		opt.Progress(run)
	}
	im.log(ctx, a, run)
	if err != nil {
		return run, err
	}
	return run, nil
}

func (im *Importer) today() domain.Date {
	if im.Service.NowFunc != nil {
		return domain.DateOf(im.Service.NowFunc())
	}
	return domain.DateOf(time.Now())
}

// defaults fills the received date (today) and the mapping (the
// département's, else DefaultMapping).
func (im *Importer) defaults(ctx context.Context, opt *Options) error {
	if opt.Received.IsZero() {
		opt.Received = im.today()
	}
	if opt.Mapping == nil {
		m, err := im.Service.DB.ImportMapping(ctx)
		if err != nil {
			return err
		}
		opt.Mapping = DefaultMapping()
		if m != nil {
			opt.Mapping = m
		}
	}
	return nil
}

func (im *Importer) log(ctx context.Context, a domain.Actor, run postgres.ImportRun) {
	if im.Logger != nil {
		im.Logger.Info("import", "importID", run.ID, "kind", run.Kind, "status", run.Status, "total", run.Total,
			"created", run.Created, "updated", run.Updated, "unchanged", run.Unchanged, "rejected", run.Rejected, "ignored", run.Ignored)
	}
	_ = im.Service.DB.Audit(context.WithoutCancel(ctx), postgres.AuditEntry{Actor: a, Action: "import", RecordType: "import", RecordID: run.ID,
		Detail: map[string]any{"status": run.Status, "file": run.FileName, "sha256": run.SHA256}})
}

// check is the first pass: the file's hash, format, and whether it reads
// to its end. It returns how many people (flux) or rows (CSV) it holds.
func (im *Importer) check(src Source, run *postgres.ImportRun, opt *Options) (int, error) {
	f, err := src.Open()
	if err != nil {
		return 0, fmt.Errorf("ouverture du fichier : %v", err)
	}
	defer f.Close()
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(f, h)}
	br := bufio.NewReaderSize(counted, 64<<10)
	if opt.Format == "" {
		opt.Format = detect(br)
	}
	run.Kind = opt.Format
	total := 0
	switch opt.Format {
	case FormatFlux:
		info, err := ReadFlux(br, func(h Household) error { total += max(1, len(h.Persons)); return nil })
		if err != nil {
			return 0, err
		}
		run.Info["flux_created_on"] = info.CreatedOn.String()
		run.Info["flux_type"] = info.Type
		run.Info["households"] = info.Households
		run.Info["encoding"] = info.Encoding
		if info.Declared >= 0 && info.Declared != info.Households {
			// docs/cnaf-flux.md quirk 2: real fixtures disagree; warn, do not refuse.
			run.Info["warning"] = fmt.Sprintf("Le flux annonce %d foyers (NBTOTDOSRSATRANSM) mais en contient %d.", info.Declared, info.Households)
		}
		if info.CreatedOn.After(opt.Received) {
			return 0, fmt.Errorf("le flux est daté du %s, dans le futur", info.CreatedOn.French())
		}
	case FormatCSV, FormatXLSX:
		info, err := readList(br, *opt, func(Row) error { total++; return nil })
		if err != nil {
			var mc *MissingColumnsError
			if errors.As(err, &mc) {
				run.Info["missing_columns"] = mc.Missing
			}
			return 0, err
		}
		listInfo(run, info)
	default:
		return 0, fmt.Errorf("format inconnu %q (flux, csv ou xlsx)", opt.Format)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return 0, err
	}
	run.SHA256, run.Size = hex.EncodeToString(h.Sum(nil)), counted.n
	if run.Size == 0 {
		return 0, errors.New("le fichier est vide")
	}
	return total, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// detect: XML starts with '<' (after a BOM and spaces), a workbook is a
// zip archive, anything else is a CSV list.
func detect(br *bufio.Reader) string {
	head, _ := br.Peek(512)
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return FormatXLSX
	}
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return FormatFlux
	}
	return FormatCSV
}

// readList reads a CSV list or a workbook's sheet.
func readList(r io.Reader, opt Options, fn func(Row) error) (CSVInfo, error) {
	if opt.Format == FormatXLSX {
		return ReadXLSX(r, opt.Sheet, opt.Mapping, opt.Received, fn)
	}
	return ReadCSV(r, opt.Mapping, opt.Received, fn)
}

// listInfo records in the report what the reading learnt of a list.
func listInfo(run *postgres.ImportRun, info CSVInfo) {
	if info.Format == FormatCSV {
		run.Info["separator"] = string(info.Separator)
		run.Info["encoding"] = info.Encoding
	}
	if info.Sheet != "" {
		run.Info["sheet"] = info.Sheet
	}
	run.Info["columns"] = info.Columns
	if len(info.Warnings) > 0 {
		run.Info["warning"] = strings.Join(info.Warnings, " ")
	}
}

// apply is the second pass: the parser feeds the workers, the results are
// counted and written every half second.
func (im *Importer) apply(ctx context.Context, a domain.Actor, src Source, run *postgres.ImportRun, opt Options) error {
	f, err := src.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if im.Service.Temporal != nil {
		go im.watchTemporal(ctx, cancel)
	}

	jobs := make(chan job, opt.Workers*4)
	type result struct {
		line     int
		outcome  app.ImportOutcome
		err      error
		noDuty   bool // a flux person without the droits-et-devoirs block
		warnings []string
	}
	results := make(chan result, opt.Workers*4)
	var parseErr error
	order := newKeyOrder()
	go func() {
		defer close(jobs)
		send := func(j job) error {
			if j.err == nil {
				// Rows naming the same person apply in the file's order.
				order.acquire(j.person.IdentityKeys())
			}
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		br := bufio.NewReaderSize(f, 64<<10)
		switch opt.Format {
		case FormatFlux:
			_, parseErr = ReadFlux(br, func(h Household) error {
				if h.Err != nil {
					return send(job{line: h.Line, err: fmt.Errorf("foyer rejeté : %v", h.Err)})
				}
				for _, p := range h.Persons {
					if err := send(job{line: h.Line, person: p}); err != nil {
						return err
					}
				}
				return nil
			})
		case FormatCSV, FormatXLSX:
			_, parseErr = readList(br, opt, func(r Row) error {
				return send(job{line: r.Line, person: r.Person, err: r.Err, warnings: r.Warnings})
			})
		}
	}()
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if j.err != nil {
					results <- result{line: j.line, err: domain.Errorf(domain.EINVALID, "%s", j.err.Error()), warnings: j.warnings}
					continue
				}
				j.person.ImportID = run.ID
				out, err := im.applyOne(ctx, a, j.person)
				order.release(j.person.IdentityKeys())
				results <- result{line: j.line, outcome: out, err: err, noDuty: j.person.NoDutyBlock, warnings: j.warnings}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	defer func() {
		cancel(nil)
		for range results { // let the workers end
		}
	}()

	var rejects []postgres.ImportReject
	seq := 0
	flush := func() error {
		// Not ctx: once an import is stopped (Temporal gone, Ctrl-C), its
		// progress and reason must still be written.
		if err := im.Service.DB.ImportProgress(context.WithoutCancel(ctx), *run, rejects, seq); err != nil {
			return err
		}
		seq += len(rejects)
		rejects = rejects[:0]
		if opt.Progress != nil {
			opt.Progress(*run)
		}
		return nil
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var fatal error
	for {
		select {
		case r, ok := <-results:
			if !ok {
				if fatal != nil {
					return fatal
				}
				if parseErr != nil {
					return fmt.Errorf("relecture du fichier : %w", parseErr)
				}
				return flush()
			}
			run.Processed++
			if len(r.warnings) > 0 {
				run.Info["warned"] = infoInt(run.Info["warned"]) + 1
			}
			for _, w := range r.warnings {
				rejects = append(rejects, postgres.ImportReject{Line: r.line, Kind: postgres.ReportWarning, Reason: w})
			}
			code := domain.ErrorCode(r.err)
			switch {
			case r.err == nil:
				switch r.outcome.Kind {
				case app.ImportCreated:
					run.Created++
				case app.ImportUpdated:
					run.Updated++
				case app.ImportUnchanged:
					run.Unchanged++
				case app.ImportIgnored:
					run.Ignored++
				case app.ImportReview:
					countInfo(run, InfoIdentityReview, 0)
				}
				if r.noDuty {
					countInfo(run, InfoNoDutyBlock, r.line)
				}
				// What a later reprise line changed in an open parcours,
				// and what it gives that was not applied (with why).
				for _, c := range r.outcome.Changes {
					rejects = append(rejects, postgres.ImportReject{Line: r.line, Kind: postgres.ReportInfo, Reason: c})
				}
				for _, u := range r.outcome.Unapplied {
					rejects = append(rejects, postgres.ImportReject{Line: r.line, Kind: postgres.ReportInfo, Reason: u})
				}
			case code == domain.EINVALID || code == domain.ECONFLICT || code == domain.ENOTFOUND:
				run.Rejected++
				rejects = append(rejects, postgres.ImportReject{Line: r.line, Kind: postgres.ReportReject, Reason: domain.ErrorMessage(r.err)})
			default:
				if fatal == nil {
					fatal = r.err
					if cause := context.Cause(ctx); ctx.Err() != nil {
						fatal = cause // the watcher's reason, not the attempt's « context canceled »
					} else if im.temporalDown(ctx) {
						fatal = errTemporalDown(0)
					}
					cancel(fatal)
				}
			}
			if opt.Counted != nil {
				outcome := string(r.outcome.Kind)
				if r.err != nil {
					outcome = "rejected"
				}
				opt.Counted(outcome)
			}
		case <-tick.C:
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// Report counts kept in ImportRun.Info.
const (
	// InfoIdentityReview counts the lines put in « Identités à vérifier ».
	InfoIdentityReview = "identity_review"
	// InfoNoDutyBlock counts the flux persons without the droits-et-devoirs
	// block; InfoNoDutyBlock+"_lines" lists their lines (the first
	// maxInfoLines).
	InfoNoDutyBlock = "no_duty_block"
	maxInfoLines    = 1000
)

// countInfo adds one to a count of run.Info and, when line is set, lists
// the line.
func countInfo(run *postgres.ImportRun, key string, line int) {
	n, _ := run.Info[key].(int)
	run.Info[key] = n + 1
	if line == 0 {
		return
	}
	lines, _ := run.Info[key+"_lines"].([]int)
	if len(lines) < maxInfoLines { // in file order, whatever order the workers end in
		if i, found := slices.BinarySearch(lines, line); !found { // a household's persons share its line
			run.Info[key+"_lines"] = slices.Insert(lines, i, line)
		}
	}
}

// keyOrder keeps rows that share an identity key from running at the same
// time: the parser waits until the earlier row is applied, so that the
// file's order decides (a later row naming two people is the one refused).
type keyOrder struct {
	mu       sync.Mutex
	cond     *sync.Cond
	inFlight map[string]bool
}

func newKeyOrder() *keyOrder {
	o := &keyOrder{inFlight: map[string]bool{}}
	o.cond = sync.NewCond(&o.mu)
	return o
}

func (o *keyOrder) acquire(keys []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for slices.ContainsFunc(keys, func(k string) bool { return o.inFlight[k] }) {
		o.cond.Wait()
	}
	for _, k := range keys {
		o.inFlight[k] = true
	}
}

func (o *keyOrder) release(keys []string) {
	o.mu.Lock()
	for _, k := range keys {
		delete(o.inFlight, k)
	}
	o.mu.Unlock()
	o.cond.Broadcast()
}

// watchTemporal cancels an import once the Temporal server has not answered
// for GiveUpAfter: the attempts in flight end at once, and the import is
// « interrompu », to be run again when the service is back.
func (im *Importer) watchTemporal(ctx context.Context, cancel context.CancelCauseFunc) {
	giveUp := cmp.Or(im.GiveUpAfter, DefaultGiveUpAfter)
	probe := min(healthProbe, giveUp)
	tick := time.NewTicker(probe)
	defer tick.Stop()
	var down time.Time // when the first failed check of the current outage began
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		isDown := im.temporalDown(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case !isDown:
			down = time.Time{}
		case down.IsZero():
			down = start
		}
		if !down.IsZero() && time.Since(down) >= giveUp {
			cancel(errTemporalDown(time.Since(down)))
			return
		}
	}
}

// temporalDown reports whether the Temporal server fails a health check.
func (im *Importer) temporalDown(ctx context.Context) bool {
	if im.Service.Temporal == nil {
		return false
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthProbe)
	defer cancel()
	_, err := im.Service.Temporal.CheckHealth(pctx, &client.CheckHealthRequest{})
	return err != nil
}

// errTemporalDown says why an import stopped: the service's Temporal
// server went away (for how long, when known).
func errTemporalDown(since time.Duration) error {
	if since <= 0 {
		return domain.Errorf(domain.EUNAVAILABLE, "le serveur Temporal ne répond plus.")
	}
	return domain.Errorf(domain.EUNAVAILABLE, "le serveur Temporal ne répond plus depuis %s.", since.Round(time.Second))
}

// applyOne applies a person, retrying while a dependency is unavailable.
func (im *Importer) applyOne(ctx context.Context, a domain.Actor, p domain.ImportedPerson) (app.ImportOutcome, error) {
	delay := 200 * time.Millisecond
	timeout := cmp.Or(im.AttemptTimeout, DefaultAttemptTimeout)
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		out, err := im.Service.ImportPerson(actx, a, p)
		cancel()
		code := domain.ErrorCode(err)
		if err == nil || attempt == 5 || code == domain.EINVALID || code == domain.ECONFLICT ||
			code == domain.ENOTFOUND || code == domain.EFORBIDDEN || ctx.Err() != nil {
			return out, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return out, err
		}
		delay *= 2
	}
}

// infoInt reads a count kept in an import's Info (an int while it runs, a
// float64 once read back from PostgreSQL).
func infoInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

func openFile(path string) (io.ReadCloser, error) { return os.Open(path) }

// MaxUpload is the largest file the web page and the API accept.
const MaxUpload = 2 << 30

// Start saves an uploaded file and imports it in the background; it returns
// the import's id once the file is checked (refused files too: their page
// says why). The import goes on after the request ends.
func (im *Importer) Start(ctx context.Context, a domain.Actor, name string, body io.Reader, opt Options) (string, error) {
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		return "", domain.Errorf(domain.EFORBIDDEN, "Votre rôle (%s) ne permet pas d'importer des bénéficiaires.", a.Role)
	}
	f, err := os.CreateTemp(im.TempDir, "import-*")
	if err != nil {
		return "", err
	}
	path := f.Name()
	n, err := io.Copy(f, io.LimitReader(body, MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		_ = os.Remove(path)
		return "", fmt.Errorf("enregistrement du fichier reçu : %w", err)
	case n > MaxUpload:
		_ = os.Remove(path)
		return "", domain.Errorf(domain.EINVALID, "Le fichier dépasse %d Gio.", MaxUpload>>30)
	case n == 0:
		_ = os.Remove(path)
		return "", domain.Errorf(domain.EINVALID, "Le fichier est vide.")
	}
	ids := make(chan string, 1)
	done := make(chan error, 1)
	created := opt.Created
	opt.Created = func(id string) {
		ids <- id
		if created != nil {
			created(id)
		}
	}
	go func() {
		defer os.Remove(path)
		_, err := im.Run(context.WithoutCancel(ctx), a, FileSource(name, path), opt)
		done <- err
	}()
	select {
	case id := <-ids:
		return id, nil
	case err := <-done:
		// Ended before recording anything: the database did not answer.
		return "", err
	}
}
