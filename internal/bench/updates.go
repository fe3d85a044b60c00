package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// benchReferents are the référents the burst with updates orients to and
// reassigns between (made if absent, in the unspecified structure).
var benchReferents = []string{"ref-banc-1", "ref-banc-2", "ref-banc-3"}

// updateBurst sends, through the app.Service as the HTTP API does, updates
// updates to each of the n parcours entered on entered, none of which meets
// their contract deadline: the orientation (the département's one-month
// target is already past, the contract target still to come), the
// orientation letter's receipt the same day (the legal contract month then
// runs from it, past the target), then reassignments from one référent to
// another. Each update wakes the workflow's wait, which arms its timer for
// the deadline again. r.o.Workers parcours at a time, each one's updates in
// order. today is the date in the burst's zone, the updates' date. It
// returns the updates per second.
func (r *rig) updateBurst(ctx context.Context, entered, today domain.Date, n, updates int) (float64, error) {
	if updates < 3 {
		return 0, fmt.Errorf("au moins 3 mises à jour par parcours (orientation, notification, changement de référent), %d demandées", updates)
	}
	for _, id := range benchReferents {
		if err := r.db.EnsureReferentID(ctx, "", id); err != nil {
			return 0, err
		}
	}
	var ids []string
	rows, err := r.db.Pool.Query(ctx, `SELECT id::text FROM parcours WHERE entered_on = $1::date AND closed_at IS NULL ORDER BY id`, entered.String())
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(ids) != n {
		return 0, fmt.Errorf("%d parcours entrés le %s, %d attendus", len(ids), entered, n)
	}
	actor := domain.Actor{ID: "bench", Name: "make bench", Role: domain.RoleDepartment}
	update := func(id string, k int) error {
		switch k {
		case 0:
			_, err := r.svc.RecordOrientation(ctx, actor, id, domain.Orientation{Track: domain.TrackSocial, Organism: "CCAS du banc d'essai",
				ReferentID: benchReferents[0], DecidedOn: today})
			return err
		case 1:
			_, err := r.svc.RecordOrientationNotified(ctx, actor, id, domain.OrientationNotice{NotifiedOn: today})
			return err
		default:
			// ref-banc-2, ref-banc-3, ref-banc-2…: each a change.
			_, err := r.svc.ReassignReferent(ctx, actor, id, domain.Reassignment{ReferentID: benchReferents[1+k%2],
				Reason: "Changement du banc d'essai", On: today})
			return err
		}
	}
	var next atomic.Int64
	errs := make([]error, r.o.Workers)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range r.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1)) - 1
				if j >= len(ids) {
					return
				}
				for k := range updates {
					if err := update(ids[j], k); err != nil {
						errs[i] = fmt.Errorf("parcours %s, mise à jour %d : %w", ids[j], k+1, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(n*updates) / time.Since(start).Seconds(), nil
}
