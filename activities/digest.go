package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/parcours-rsa/parcours/internal/digest"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/workflows"
)

// DigestStore is what the digest activity needs from the database.
type DigestStore interface {
	DigestRecipients(ctx context.Context) ([]postgres.DigestRecipient, error)
	DigestTasks(ctx context.Context, r postgres.DigestRecipient, day domain.Date, days int) ([]postgres.DigestTask, error)
	DigestCampaign(ctx context.Context, r postgres.DigestRecipient) (postgres.CampaignCounts, error)
	BeginDigest(ctx context.Context, accountID string, day domain.Date, c postgres.DigestCounts) (bool, error)
	FinishDigest(ctx context.Context, accountID string, day domain.Date, status, errMsg string) error
}

// Sender delivers one message; an error means the server did not accept it.
type Sender interface {
	Send(m digest.Message) error
}

// Digests carries the digest activity's dependencies.
type Digests struct {
	Store     DigestStore
	Sender    Sender
	PublicURL string
	Logger    *slog.Logger
}

// Register registers the digest activity.
func (d *Digests) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(d.SendDigests, activity.RegisterOptions{Name: workflows.DigestActivity})
}

// SendDigests sends the day's digest to every référent and supervisor who
// has something due or overdue, and to supervisors and the département
// while the 1 January 2027 campaign has contracts to sign, unless they
// opted out. Each sending is
// claimed in digest_sendings before the SMTP conversation, so a retry after
// a crash never sends twice (see postgres.BeginDigest). When a message is
// refused, the others are still sent and the activity fails at the end, so
// that Temporal retries only the refused ones.
func (d *Digests) SendDigests(ctx context.Context, in workflows.DigestInput) (workflows.DigestResult, error) {
	res := workflows.DigestResult{Day: in.Day}
	if in.Day.IsZero() {
		return res, temporal.NewNonRetryableApplicationError("day missing", "InvalidInput", nil)
	}
	recipients, err := d.Store.DigestRecipients(ctx)
	if err != nil {
		return res, err
	}
	var failed []error
	for _, r := range recipients {
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, r.AccountID)
		}
		tasks, err := d.Store.DigestTasks(ctx, r, in.Day, digest.Horizon)
		if err != nil {
			return res, err
		}
		campaign, err := d.Store.DigestCampaign(ctx, r)
		if err != nil {
			return res, err
		}
		m, ok := digest.ComposeWith(r, tasks, campaign, in.Day, d.PublicURL)
		if !ok {
			res.Empty++
			continue
		}
		proceed, err := d.Store.BeginDigest(ctx, r.AccountID, in.Day, m.Counts)
		if err != nil {
			return res, err
		}
		if !proceed {
			res.Already++
			continue
		}
		if err := d.Sender.Send(m); err != nil {
			failed = append(failed, fmt.Errorf("account %s: %w", r.AccountID, err))
			if err := d.Store.FinishDigest(ctx, r.AccountID, in.Day, postgres.DigestFailed, err.Error()); err != nil {
				return res, err
			}
			continue
		}
		if err := d.Store.FinishDigest(ctx, r.AccountID, in.Day, postgres.DigestSent, ""); err != nil {
			return res, err
		}
		res.Sent++
	}
	if d.Logger != nil {
		d.Logger.Info("digests", "day", in.Day.String(), "sent", res.Sent, "empty", res.Empty, "already", res.Already, "failed", len(failed))
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%d digests not sent: %w", len(failed), errors.Join(failed...))
	}
	return res, nil
}
