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
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/parcours-rsa/parcours/internal/auth"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// Service carries the dependencies of every use case.
type Service struct {
	DB       *postgres.DB
	Temporal client.Client
	Policy   domain.Policy
	Logger   *slog.Logger
	NowFunc  func() time.Time
}

func (s *Service) today() domain.Date {
	if s.NowFunc != nil {
		return domain.DateOf(s.NowFunc())
	}
	return domain.DateOf(time.Now())
}

func authorize(a domain.Actor, what string, roles ...domain.Role) error {
	if slices.Contains(roles, a.Role) {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "Votre rôle (%s) ne permet pas de %s.", a.Role, what)
}

func (s *Service) audit(ctx context.Context, a domain.Actor, action, recordType, recordID string, detail map[string]any) error {
	return s.DB.Audit(ctx, postgres.AuditEntry{Actor: a, Action: action, RecordType: recordType, RecordID: recordID, Detail: detail})
}

// Intake registers a person entering droits et devoirs and starts their
// parcours. created is false when the same intake was already recorded.
func (s *Service) Intake(ctx context.Context, a domain.Actor, in domain.Intake) (v domain.ParcoursView, created bool, err error) {
	if err := authorize(a, "enregistrer une entrée en droits et devoirs", domain.RoleAdmin, domain.RoleDepartment); err != nil {
		return v, false, err
	}
	in.Normalize()
	if err := in.Validate(s.today()); err != nil {
		return v, false, err
	}
	res, err := s.DB.Intake(ctx, in, s.Policy.Name)
	if err != nil {
		return v, false, err
	}
	if err := s.audit(ctx, a, "create", "parcours", res.ParcoursID, map[string]any{"created": res.Created}); err != nil {
		return v, false, err
	}
	if !res.Started {
		info, err := s.DB.StartInfo(ctx, res.ParcoursID)
		if err != nil {
			return v, false, err
		}
		if err := s.Start(ctx, info); err != nil {
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
	start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.ParcoursWorkflowID(p.ID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.ParcoursWorkflow, workflows.ParcoursInput{
		ParcoursID: p.ID, Policy: p.Policy, EnteredOn: p.EnteredOn, ReceivedOn: p.ReceivedOn,
	})
	h, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
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
	v, err := s.DB.GetParcours(ctx, id, postgres.ScopeOf(a))
	if err != nil {
		return v, err
	}
	return v, s.audit(ctx, a, "read", "parcours", id, nil)
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
	f.Scope = postgres.ScopeOf(a)
	items, err := s.DB.ListTasks(ctx, f)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return items, s.audit(ctx, a, "list", "tasks", "", map[string]any{"ids": ids})
}

// RecordOrientation records the département's orientation decision.
func (s *Service) RecordOrientation(ctx context.Context, a domain.Actor, id string, o domain.Orientation) (domain.ParcoursView, error) {
	if err := authorize(a, "décider d'une orientation", domain.RoleAdmin, domain.RoleDepartment); err != nil {
		return domain.ParcoursView{}, err
	}
	if err := o.Validate(s.today()); err != nil {
		return domain.ParcoursView{}, err
	}
	return s.update(ctx, a, id, workflows.RecordOrientationUpdate, o, "orientation")
}

// RecordContract records a signed contract.
func (s *Service) RecordContract(ctx context.Context, a domain.Actor, id string, c domain.Contract) (domain.ParcoursView, error) {
	if err := c.Validate(s.today()); err != nil {
		return domain.ParcoursView{}, err
	}
	return s.update(ctx, a, id, workflows.RecordContractUpdate, c, "contract")
}

// update sends a command to a parcours the actor may see, waits for the
// workflow to have written its effect, and returns the parcours as it is now.
func (s *Service) update(ctx context.Context, a domain.Actor, id, name string, arg any, what string) (domain.ParcoursView, error) {
	if _, err := s.DB.GetParcours(ctx, id, postgres.ScopeOf(a)); err != nil {
		return domain.ParcoursView{}, err
	}
	h, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.ParcoursWorkflowID(id),
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var res workflows.UpdateResult
		err = h.Get(ctx, &res)
	}
	if err != nil {
		if derr := workflows.DomainError(err); domain.ErrorCode(derr) != domain.EINTERNAL {
			return domain.ParcoursView{}, derr
		}
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return domain.ParcoursView{}, domain.Errorf(domain.EUNAVAILABLE,
				"Le parcours est en cours de démarrage ; réessayez dans quelques secondes.")
		}
		return domain.ParcoursView{}, unavailable("enregistrer la demande", err)
	}
	if err := s.audit(ctx, a, "update", "parcours", id, map[string]any{"what": what}); err != nil {
		return domain.ParcoursView{}, err
	}
	return s.DB.GetParcours(ctx, id, postgres.Scope{})
}

// CreateToken makes an API token; the token is returned once, only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, name string, role domain.Role, referentID string) (string, error) {
	switch {
	case name == "":
		return "", domain.FieldError("name", "Le nom du jeton est obligatoire (--name).")
	case !slices.Contains(domain.Roles, role):
		return "", domain.FieldError("role", "Rôle inconnu %q : admin, department, supervisor ou referent.", role)
	case role == domain.RoleReferent && referentID == "":
		return "", domain.FieldError("referent", "Un jeton de référent doit nommer son référent (--referent ID).")
	case role != domain.RoleReferent && referentID != "":
		return "", domain.FieldError("referent", "--referent ne s'emploie qu'avec le rôle referent.")
	}
	token, hash := auth.NewToken()
	id, err := s.DB.CreateToken(ctx, name, role, referentID, hash)
	if err != nil {
		return "", err
	}
	return token, s.audit(ctx, domain.System, "create", "token", fmt.Sprint(id), map[string]any{"role": role})
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
