// Package app is what the service does, whoever asks (HTTP API, web UI,
// importer): it authorizes, validates, writes to the read model, starts and
// updates workflows, and logs every consultation and change to the audit log.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/google/uuid"
	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/indicators"
	"github.com/parcours-rsa/parcours/internal/memo"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// Service carries the dependencies of every use case.
type Service struct {
	DB       *postgres.DB
	Temporal client.Client
	Policy   domain.Policy
	Settings domain.Settings // delays of new parcours; zero: domain.DefaultSettings()
	Logger   *slog.Logger
	NowFunc  func() time.Time
	// LoginGuard throttles password logins; nil: one shared by the process.
	LoginGuard *auth.LoginGuard
	// Caches keeps costly figures a while; nil: computed at each request.
	Caches *Caches
}

// Caches are the figures the service keeps a while, each computed from
// every parcours in scope: at 100,000 parcours they take tens of
// milliseconds alone, several times that during a burst of deadlines
// (issue 21 item 8). A nil field: computed at each request.
type Caches struct {
	// Indicators: the published figures of a period
	// (PARCOURS_INDICATORS_CACHE), a report saying when it was computed.
	Indicators *memo.Cache[indicators.Filter, indicators.Report]
	// Workload and TaskCounts: the load per référent and the task lists'
	// counts (PARCOURS_COUNTS_CACHE), dropped at each write the service
	// makes, so that whoever reassigns or records sees it at once; the
	// workflows' own writes (a deadline passing) show within the TTL.
	Workload   *memo.Cache[workloadKey, []domain.Workload]
	TaskCounts *memo.Cache[postgres.TaskFilter, [2]int]
	// Campaign: the 1 January 2027 campaign's counts, with the counts.
	Campaign *memo.Cache[postgres.Scope, postgres.CampaignSummary]
}

type workloadKey struct {
	scope postgres.Scope
	days  int
}

// NewCaches keeps the indicators for indicators and the counts for counts
// (0: not kept).
func NewCaches(indicatorsTTL, counts time.Duration) *Caches {
	c := &Caches{}
	if indicatorsTTL > 0 {
		c.Indicators = memo.New[indicators.Filter, indicators.Report](indicatorsTTL)
	}
	if counts > 0 {
		c.Workload = memo.New[workloadKey, []domain.Workload](counts)
		c.TaskCounts = memo.New[postgres.TaskFilter, [2]int](counts)
		c.Campaign = memo.New[postgres.Scope, postgres.CampaignSummary](counts)
	}
	return c
}

// written drops the counts after a write of the service's own: every
// command audits its write (Service.audit); intakes, imports, resyncs and
// identity decisions, whose audit lines are written with their rows, call
// it themselves.
func (c *Caches) written() {
	if c == nil {
		return
	}
	if c.Workload != nil {
		c.Workload.Invalidate()
	}
	if c.TaskCounts != nil {
		c.TaskCounts.Invalidate()
	}
	if c.Campaign != nil {
		c.Campaign.Invalidate()
	}
}

func (s *Service) today() domain.Date { return domain.DateOf(s.now()) }

func (s *Service) now() time.Time {
	if s.NowFunc != nil {
		return s.NowFunc()
	}
	return time.Now()
}

func authorize(a domain.Actor, what string, roles ...domain.Role) error {
	if slices.Contains(roles, a.Role) {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "Votre rôle (%s) ne permet pas de %s.", a.Role, what)
}

func (s *Service) audit(ctx context.Context, a domain.Actor, action, recordType, recordID string, detail map[string]any) error {
	switch action {
	case "read", "list", "search", "export", "denied":
	default: // a write has been made: the counts kept are no longer right
		s.Caches.written()
	}
	return s.DB.Audit(ctx, postgres.AuditEntry{Actor: a, Action: action, RecordType: recordType, RecordID: recordID, Detail: detail})
}

// Intake registers a person entering droits et devoirs and starts their
// parcours. created is false when the same intake was already recorded.
func (s *Service) Intake(ctx context.Context, a domain.Actor, in domain.Intake) (v domain.ParcoursView, created bool, err error) {
	if err := authorize(a, "enregistrer une entrée en droits et devoirs", domain.RoleAdmin, domain.RoleDepartment); err != nil {
		return v, false, err
	}
	defer s.Caches.written() // a new or changed parcours: the counts kept are no longer right
	in.Normalize()
	if err := in.Validate(s.today()); err != nil {
		return v, false, err
	}
	res, err := s.DB.Intake(ctx, a, in, s.Policy.Name)
	if err != nil {
		return v, false, err
	}
	if !res.Started {
		if err := s.Start(ctx, res.Start); err != nil {
			return v, false, err
		}
	}
	v, err = s.DB.GetParcours(ctx, res.ParcoursID, postgres.Scope{})
	return v, res.Created, err
}

// Start starts (or finds) a parcours' workflow and waits until its first
// write to the read model is done: update-with-start, so that a second call
// meets the running workflow instead of starting another.
func (s *Service) Start(ctx context.Context, p postgres.Unstarted) error {
	h, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: s.Temporal.NewWithStartWorkflowOperation(startOptions(p), workflows.ParcoursWorkflow, s.parcoursInput(p)),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.RegisterUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return unavailable("démarrer le parcours", err)
	}
	var res workflows.UpdateResult
	if err := h.Get(ctx, &res); err != nil {
		return unavailable("démarrer le parcours", err)
	}
	return s.DB.MarkStarted(ctx, p.ID)
}

// startOptions start a parcours' workflow, or find the one running.
func startOptions(p postgres.Unstarted) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.ParcoursWorkflowID(p.ID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
}

func (s *Service) parcoursInput(p postgres.Unstarted) workflows.ParcoursInput {
	return workflows.ParcoursInput{
		Revision: workflows.CurrentRevision, ParcoursID: p.ID, Policy: p.Policy, EnteredOn: p.EnteredOn, ReceivedOn: p.ReceivedOn, Settings: s.settings(),
		Reprise: workflows.RepriseFrom(p.Reprise),
	}
}

func (s *Service) settings() *domain.Settings {
	if s.Settings == (domain.Settings{}) {
		d := domain.DefaultSettings()
		return &d
	}
	return &s.Settings
}

// Reconcile starts the workflows of parcours written but not started (the
// process died between the two): nothing registered is ever left waiting.
func (s *Service) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	list, err := s.DB.ListUnstarted(ctx, time.Now().Add(-olderThan), 500)
	if err != nil {
		return 0, err
	}
	for i, p := range list {
		if err := s.Start(ctx, p); err != nil {
			return i, fmt.Errorf("start parcours %s: %w", p.ID, err)
		}
		s.Logger.Info("parcours workflow started by reconciliation", "parcoursID", p.ID)
	}
	return len(list), nil
}

// Get reads one parcours the actor may see.
func (s *Service) Get(ctx context.Context, a domain.Actor, id string) (domain.ParcoursView, error) {
	v, err := s.scoped(ctx, a, id, "read")
	if err != nil {
		return v, err
	}
	return v, s.audit(ctx, a, "read", "parcours", id, nil)
}

// scoped reads a parcours within the actor's scope. A refusal (no such
// parcours, or not theirs) goes to the audit log with the source address:
// someone trying other people's ids shows there (issue 20).
func (s *Service) scoped(ctx context.Context, a domain.Actor, id, action string) (domain.ParcoursView, error) {
	v, err := s.DB.GetParcours(ctx, id, postgres.ScopeOf(a))
	if code := domain.ErrorCode(err); code == domain.ENOTFOUND || code == domain.EFORBIDDEN {
		detail := map[string]any{"action": action, "source": SourceOf(ctx)}
		if aerr := s.audit(ctx, a, "denied", "parcours", id, detail); aerr != nil {
			return v, aerr
		}
	}
	return v, err
}

type sourceKey struct{}

// WithSource tells the service the client's address (audited with refusals).
func WithSource(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// SourceOf is the client's address WithSource gave, or "".
func SourceOf(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// List reads a page of the parcours the actor may see.
func (s *Service) List(ctx context.Context, a domain.Actor, f postgres.ParcoursFilter) ([]domain.ParcoursSummary, string, error) {
	f.Scope = postgres.ScopeOf(a)
	items, next, err := s.DB.ListParcours(ctx, f)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return items, next, s.audit(ctx, a, "list", "parcours", "", map[string]any{"ids": ids})
}

// Tasks lists the tasks the actor may see.
func (s *Service) Tasks(ctx context.Context, a domain.Actor, f postgres.TaskFilter) ([]domain.TaskView, error) {
	items, err := s.DB.ListTasks(ctx, taskScope(a, f))
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return items, s.audit(ctx, a, "list", "tasks", "", map[string]any{"ids": ids})
}

// ExportTasks is Tasks for a CSV export: the same list within the actor's
// scope, audited as an export (who took the names away, how many lines)
// rather than as a list of ids.
func (s *Service) ExportTasks(ctx context.Context, a domain.Actor, f postgres.TaskFilter) ([]domain.TaskView, error) {
	items, err := s.DB.ListTasks(ctx, taskScope(a, f))
	if err != nil {
		return nil, err
	}
	return items, s.audit(ctx, a, "export", "tasks", "", map[string]any{"lines": len(items), "kind": string(f.Kind)})
}

// CountTasks counts what Tasks lists with the same filter, whatever the
// page: all, and the overdue ones.
func (s *Service) CountTasks(ctx context.Context, a domain.Actor, f postgres.TaskFilter) (total, overdue int, err error) {
	f = taskScope(a, f)
	if s.Caches == nil || s.Caches.TaskCounts == nil {
		return s.DB.CountTasks(ctx, f)
	}
	n, _, err := s.Caches.TaskCounts.Get(ctx, f, func(ctx context.Context) ([2]int, error) {
		total, overdue, err := s.DB.CountTasks(ctx, f)
		return [2]int{total, overdue}, err
	})
	return n[0], n[1], err
}

// taskScope narrows a task filter to what the actor may see.
func taskScope(a domain.Actor, f postgres.TaskFilter) postgres.TaskFilter {
	f.Scope = postgres.ScopeOf(a)
	if a.SeesOnlyOwn() {
		// A référent's inbox holds their tasks, not the département's
		// decisions pending on their beneficiaries (a re-orientation...).
		f.Assignee = a.ReferentID
	}
	return f
}

// Roles allowed to record each kind of event (a référent only on their own
// parcours: the scope check makes any other answer 404).
var (
	anyRole        = []domain.Role{domain.RoleAdmin, domain.RoleDepartment, domain.RoleSupervisor, domain.RoleReferent}
	departmentOnly = []domain.Role{domain.RoleAdmin, domain.RoleDepartment}
	managers       = []domain.Role{domain.RoleAdmin, domain.RoleDepartment, domain.RoleSupervisor}
)

// assignable authorizes and validates a command naming a référent, then
// checks the actor may give a parcours to that référent (CheckAssignable):
// for the API and the web alike, before anything is sent.
func (s *Service) assignable(ctx context.Context, a domain.Actor, cmd validated, referentID, verb string, roles []domain.Role) error {
	if err := authorize(a, verb, roles...); err != nil {
		return err
	}
	if err := cmd.Validate(s.today()); err != nil {
		return err
	}
	return s.CheckAssignable(ctx, a, strings.TrimSpace(referentID))
}

// validated is a workflow command that can check itself.
type validated interface {
	domain.Command
	Validate(today domain.Date) error
}

// RecordOrientation records the département's orientation decision.
// Its référent must be known and active.
func (s *Service) RecordOrientation(ctx context.Context, a domain.Actor, id string, o domain.Orientation) (domain.ParcoursView, error) {
	if err := s.assignable(ctx, a, &o, o.ReferentID, "décider d'une orientation", departmentOnly); err != nil {
		return domain.ParcoursView{}, err
	}
	// The 2025 contract month runs from the notification (D5411-14-1 code
	// du travail): without one, the decision's date stands in, said so.
	o.AssumeNotified()
	v, _, err := s.command(ctx, a, id, workflows.RecordOrientationUpdate, &o, nil, "orientation", "décider d'une orientation", departmentOnly)
	return v, err
}

// RecordOrientationNotified records the orientation letter's receipt: the
// contract month runs from it (D5411-14-1 code du travail).
func (s *Service) RecordOrientationNotified(ctx context.Context, a domain.Actor, id string, n domain.OrientationNotice) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordOrientationNotifiedUpdate, &n, nil, "orientation_notified", "enregistrer la notification de l'orientation", departmentOnly)
	return v, err
}

// RecordContract records a signed contract: the first, or a renewal with
// the previous contract's assessment.
func (s *Service) RecordContract(ctx context.Context, a domain.Actor, id string, c domain.Contract) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordContractUpdate, &c, nil, "contract", "enregistrer un contrat", anyRole)
	return v, err
}

// RequestReorientation asks the département for a new orientation.
func (s *Service) RequestReorientation(ctx context.Context, a domain.Actor, id string, r domain.ReorientationRequest) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RequestReorientationUpdate, &r, nil, "reorientation_request", "demander une réorientation", anyRole)
	return v, err
}

// DecideReorientation accepts or refuses the pending request.
// An accepted one names a known, active référent.
func (s *Service) DecideReorientation(ctx context.Context, a domain.Actor, id string, d domain.ReorientationDecision) (domain.ParcoursView, error) {
	if d.Accept {
		if err := s.assignable(ctx, a, &d, d.ReferentID, "décider d'une réorientation", departmentOnly); err != nil {
			return domain.ParcoursView{}, err
		}
	}
	d.AssumeNotified()
	v, _, err := s.command(ctx, a, id, workflows.DecideReorientationUpdate, &d, nil, "reorientation_decision", "décider d'une réorientation", departmentOnly)
	return v, err
}

// ReassignReferent changes the référent; open tasks follow.
// The new référent must be active and, for a supervisor, of their
// structure: checked here, for the API and the web alike.
func (s *Service) ReassignReferent(ctx context.Context, a domain.Actor, id string, r domain.Reassignment) (domain.ParcoursView, error) {
	if err := s.assignable(ctx, a, &r, r.ReferentID, "changer le référent", managers); err != nil {
		return domain.ParcoursView{}, err
	}
	v, _, err := s.command(ctx, a, id, workflows.ReassignReferentUpdate, &r, nil, "reassignment", "changer le référent", managers)
	return v, err
}

// RecordObstacles records the L262-31 obstacles: the categories stay in
// PostgreSQL, the workflow only learns that the review moves to 12 months.
func (s *Service) RecordObstacles(ctx context.Context, a domain.Actor, id string, o domain.Obstacles) (domain.ParcoursView, error) {
	slices.Sort(o.Categories)
	o.Categories = slices.Compact(o.Categories)
	ext := &workflows.ReviewExtension{Extended: len(o.Categories) > 0, On: o.On}
	if err := o.Validate(s.today()); err != nil {
		return domain.ParcoursView{}, err
	}
	if _, _, err := s.command(ctx, a, id, workflows.SetReviewExtensionUpdate, &validExt{ext}, nil, "obstacles", "enregistrer des freins", anyRole); err != nil {
		return domain.ParcoursView{}, err
	}
	if err := s.DB.SetObstacles(ctx, id, o.Categories); err != nil {
		return domain.ParcoursView{}, err
	}
	return s.DB.GetParcours(ctx, id, postgres.Scope{})
}

// validExt is a ReviewExtension already validated by its Obstacles.
type validExt struct{ *workflows.ReviewExtension }

func (validExt) Validate(domain.Date) error { return nil }

// RecordReview records the social-track review.
func (s *Service) RecordReview(ctx context.Context, a domain.Actor, id string, r domain.Review) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordReviewUpdate, &r, nil, "review", "enregistrer un examen", anyRole)
	return v, err
}

// RecordAction records an insertion action; it returns its number.
func (s *Service) RecordAction(ctx context.Context, a domain.Actor, id string, act domain.Action) (domain.ParcoursView, int, error) {
	return s.command(ctx, a, id, workflows.RecordActionUpdate, &act, nil, "action", "enregistrer une action", anyRole)
}

// RecordActionOutcome ends action n with its outcome.
func (s *Service) RecordActionOutcome(ctx context.Context, a domain.Actor, id string, n int, o domain.ActionOutcome) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordActionOutcomeUpdate, &o,
		func() any { return workflows.OutcomeInput{Action: n, Outcome: o} }, "action_outcome", "enregistrer le bilan d'une action", anyRole)
	return v, err
}

// RecordFollowUp answers the follow-up of action n at 3 or 6 months.
func (s *Service) RecordFollowUp(ctx context.Context, a domain.Actor, id string, n, months int, f domain.FollowUpAnswer) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordFollowUpUpdate, &f,
		func() any { return workflows.FollowUpInput{Action: n, Months: months, Answer: f} }, "follow_up", "enregistrer un suivi", anyRole)
	return v, err
}

// RecordExit ends the parcours.
func (s *Service) RecordExit(ctx context.Context, a domain.Actor, id string, e domain.Exit) (domain.ParcoursView, error) {
	v, _, err := s.command(ctx, a, id, workflows.RecordExitUpdate, &e, nil, "exit", "enregistrer une sortie", managers)
	return v, err
}

// command is the path of every command on a parcours: authorize,
// validate, check the parcours is visible, then send (below), and answer
// the parcours as it is now. arg builds the update's argument when it wraps
// the command.
func (s *Service) command(ctx context.Context, a domain.Actor, id, name string, cmd validated, arg func() any,
	what, verb string, roles []domain.Role) (domain.ParcoursView, int, error) {
	if err := authorize(a, verb, roles...); err != nil {
		return domain.ParcoursView{}, 0, err
	}
	if err := cmd.Validate(s.today()); err != nil {
		return domain.ParcoursView{}, 0, err
	}
	before, err := s.scoped(ctx, a, id, name)
	if err != nil {
		return domain.ParcoursView{}, 0, err
	}
	res, err := s.send(ctx, a, id, parcoursTarget(id), name, cmd, arg, what, before)
	if err != nil {
		return domain.ParcoursView{}, 0, err
	}
	v, err := s.DB.GetParcours(ctx, id, postgres.Scope{})
	return v, res.Ref, err
}

// send moves the command's free text to PostgreSQL, stamps the account,
// sends the update to a workflow and waits until its effect is written,
// then audits. A refused command leaves nothing behind.
func (s *Service) send(ctx context.Context, a domain.Actor, parcoursID string, to target, name string, cmd domain.Command, arg func() any,
	what string, before domain.ParcoursView) (workflows.UpdateResult, error) {
	meta := cmd.Meta()
	meta.RecordedBy = a.ID
	// Every update is named: with the caller's idempotency key when there
	// is one, else a fresh id. Its texts are named after it, so that an
	// update that did not answer but may still apply keeps them.
	uid := updateID(ctx, name)
	if uid == "" {
		uid = uuid.NewString()
		ctx = withUpdateID(ctx, uid)
	}
	textKey := to.workflowID + "/" + uid // update IDs are the workflow's own
	saved, err := s.takeTexts(ctx, a, parcoursID, what, textKey, cmd)
	if err != nil {
		return workflows.UpdateResult{}, err
	}
	payload := any(cmd)
	if arg != nil {
		payload = arg()
	}
	res, err := s.update(ctx, to, name, payload, before)
	if err != nil {
		// A named update that did not answer may still be applied, by
		// this call or by its retry, with these very texts: keep them.
		if code := domain.ErrorCode(err); code != domain.EUNAVAILABLE && code != domain.EINTERNAL {
			s.dropTexts(ctx, parcoursID, saved)
		}
		return res, err
	}
	return res, s.audit(ctx, a, "update", "parcours", parcoursID, map[string]any{"what": what})
}

// takeTexts moves every free text of a command to PostgreSQL: its note
// (TakeNote) and its other texts (domain.Texted). The command keeps their
// ids only, so that no text a user typed reaches a workflow's input,
// history or state (issue 20, item 7). It returns the ids saved. A named
// update (textKey: its workflow and update ID, as for the retry of a
// command with its idempotency key) names its texts after itself: its
// retry saves them under the same ids, once, and sends the ids the first
// call sent.
func (s *Service) takeTexts(ctx context.Context, a domain.Actor, parcoursID, what, textKey string, cmd domain.Command) ([]string, error) {
	var saved []string // the notes this call inserted: the only ones a refusal deletes
	n := 0
	save := func(kind, body string, id *string) error {
		if body == "" {
			return nil
		}
		var err error
		var inserted bool
		if *id, inserted, err = s.DB.SaveNote(ctx, textID(parcoursID, textKey, n), parcoursID, kind, body, a.ID); err != nil {
			s.dropTexts(ctx, parcoursID, saved)
			return err
		}
		n++
		if inserted {
			saved = append(saved, *id)
		}
		return nil
	}
	if err := save(what, cmd.TakeNote(), &cmd.Meta().NoteID); err != nil {
		return nil, err
	}
	if t, ok := cmd.(domain.Texted); ok {
		for _, x := range t.Texts() {
			body := *x.Body
			*x.Body = ""
			if err := save(x.Kind, body, x.ID); err != nil {
				return nil, err
			}
		}
	}
	return saved, nil
}

// dropTexts removes the texts of a command its workflow refused: nothing is
// recorded when a command is refused.
func (s *Service) dropTexts(ctx context.Context, parcoursID string, ids []string) {
	for _, id := range ids {
		if err := s.DB.DeleteNote(context.WithoutCancel(ctx), id); err != nil {
			s.Logger.Error("delete note of a refused command", "parcoursID", parcoursID, "error", err)
		}
	}
}

// target is the workflow a command goes to: a parcours, or one of its
// sanction cases (what a refusal means differs).
type target struct {
	workflowID string
	review     bool
}

func parcoursTarget(parcoursID string) target {
	return target{workflowID: workflows.ParcoursWorkflowID(parcoursID)}
}

func reviewTarget(parcoursID string, n int) target {
	return target{workflowID: workflows.ReviewWorkflowID(parcoursID, n), review: true}
}

// update sends a command to a workflow and waits for the workflow to
// have written its effect.
func (s *Service) update(ctx context.Context, to target, name string, arg any, before domain.ParcoursView) (workflows.UpdateResult, error) {
	var res workflows.UpdateResult
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   to.workflowID,
		UpdateID:     updateID(ctx, name),
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err == nil {
		return res, nil
	}
	if derr := workflows.DomainError(err); domain.ErrorCode(derr) != domain.EINTERNAL {
		return res, derr
	}
	if before.Status == domain.StatusExited && !to.review {
		return res, domain.Errorf(domain.ECONFLICT, "Le parcours est clos (sortie le %s) et ses suivis sont faits : plus rien ne peut y être enregistré.", before.Exit.On.French())
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) && to.review {
		return res, domain.Errorf(domain.ECONFLICT, "Ce dossier de sanction est clos : plus rien ne peut y être enregistré.")
	}
	if errors.As(err, &nf) {
		return res, domain.Errorf(domain.EUNAVAILABLE, "Le parcours est en cours de démarrage ; réessayez dans quelques secondes.")
	}
	return res, unavailable("enregistrer la demande", err)
}

// NewToken is what creating an API token needs.
type NewToken struct {
	Name       string
	Role       domain.Role
	ReferentID string // role referent: the référent it acts as
	// Structure scopes a supervisor's token; AllStructures says explicitly
	// that it sees every structure (issue 20: a supervisor token without a
	// structure saw everything, by default).
	Structure     string
	AllStructures bool
	ExpiresAt     time.Time // zero: never
}

// CreateToken creates a token of a role (a supervisor's needs
// CreateTokenWith and its scope).
func (s *Service) CreateToken(ctx context.Context, name string, role domain.Role, referentID string) (string, error) {
	return s.CreateTokenWith(ctx, NewToken{Name: name, Role: role, ReferentID: referentID})
}

// CreateTokenWith creates an API token and returns it (shown once; only its
// hash is kept).
func (s *Service) CreateTokenWith(ctx context.Context, n NewToken) (string, error) {
	switch {
	case n.Name == "":
		return "", domain.FieldError("name", "Le nom du jeton est obligatoire (--name).")
	case !slices.Contains(domain.Roles, n.Role):
		return "", domain.FieldError("role", "Rôle inconnu %q : admin, department, supervisor ou referent.", n.Role)
	case n.Role == domain.RoleReferent && n.ReferentID == "":
		return "", domain.FieldError("referent", "Un jeton de référent doit nommer son référent (--referent ID).")
	case n.Role != domain.RoleReferent && n.ReferentID != "":
		return "", domain.FieldError("referent", "--referent ne s'emploie qu'avec le rôle referent.")
	case n.Role == domain.RoleSupervisor && n.Structure == "" && !n.AllStructures:
		return "", domain.FieldError("structure", "Un jeton de superviseur nomme sa structure (--structure NOM), ou voit toutes les structures si on le dit (--all-structures).")
	case n.Role == domain.RoleSupervisor && n.Structure != "" && n.AllStructures:
		return "", domain.FieldError("structure", "--structure et --all-structures s'excluent.")
	case n.Role != domain.RoleSupervisor && (n.Structure != "" || n.AllStructures):
		return "", domain.FieldError("structure", "--structure et --all-structures ne s'emploient qu'avec le rôle supervisor.")
	case !n.ExpiresAt.IsZero() && !n.ExpiresAt.After(time.Now()):
		return "", domain.FieldError("expires", "La date d'expiration doit être à venir.")
	}
	t := postgres.Token{Name: n.Name, Role: n.Role, ReferentID: n.ReferentID, Structure: n.Structure, AllStructures: n.AllStructures}
	if !n.ExpiresAt.IsZero() {
		t.ExpiresAt = &n.ExpiresAt
	}
	token, hash := auth.NewToken()
	id, err := s.DB.CreateToken(ctx, t, hash)
	if err != nil {
		return "", err
	}
	return token, s.audit(ctx, domain.System, "create", "token", fmt.Sprint(id), map[string]any{"role": n.Role})
}

// Tokens lists the API tokens (administrators, and the command line).
func (s *Service) Tokens(ctx context.Context, a domain.Actor) ([]postgres.Token, error) {
	if err := authorize(a, "gérer les jetons d'accès", domain.RoleAdmin); err != nil {
		return nil, err
	}
	return s.DB.ListTokens(ctx)
}

// RevokeToken revokes a token at once.
func (s *Service) RevokeToken(ctx context.Context, a domain.Actor, id int64) error {
	if err := authorize(a, "gérer les jetons d'accès", domain.RoleAdmin); err != nil {
		return err
	}
	if err := s.DB.RevokeToken(ctx, id); err != nil {
		return err
	}
	return s.audit(ctx, a, "revoke", "token", fmt.Sprint(id), nil)
}

// Authenticate finds who holds a bearer token.
func (s *Service) Authenticate(ctx context.Context, token string) (domain.Actor, error) {
	if token == "" {
		return domain.Actor{}, domain.Errorf(domain.EUNAUTHORIZED, "Jeton d'accès manquant : en-tête Authorization: Bearer <jeton>.")
	}
	return s.DB.TokenActor(ctx, auth.HashToken(token))
}

// Ready checks PostgreSQL and Temporal.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.DB.Ping(ctx); err != nil {
		return domain.Errorf(domain.EUNAVAILABLE, "PostgreSQL ne répond pas.")
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return domain.Errorf(domain.EUNAVAILABLE, "Temporal ne répond pas.")
	}
	return nil
}

func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %w", domain.Errorf(domain.EUNAVAILABLE, "Impossible de %s pour l'instant : le moteur de parcours ne répond pas. Réessayez.", what), err)
}

// Workload is the supervisor dashboard's table: per référent in the
// actor's scope, parcours and tasks, overdue and due within days.
func (s *Service) Workload(ctx context.Context, a domain.Actor, days int) ([]domain.Workload, error) {
	if err := authorize(a, "voir le tableau de bord", managers...); err != nil {
		return nil, err
	}
	scope := postgres.ScopeOf(a)
	var list []domain.Workload
	var err error
	if s.Caches == nil || s.Caches.Workload == nil {
		list, err = s.DB.Workload(ctx, scope, days)
	} else {
		list, _, err = s.Caches.Workload.Get(ctx, workloadKey{scope, days}, func(ctx context.Context) ([]domain.Workload, error) {
			return s.DB.Workload(ctx, scope, days)
		})
		list = slices.Clone(list) // the page sorts it
	}
	if err != nil {
		return nil, err
	}
	return list, s.audit(ctx, a, "list", "workload", "", map[string]any{"referents": len(list)})
}
