package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// keepReprise, in the import's transaction: a parcours just opened from a
// reprise file keeps the file's situation (parcours.reprise), so that a
// workflow started late (reconciliation) starts from it; a parcours found
// not started yet takes the situation stored with it.
func keepReprise(ctx context.Context, tx pgx.Tx, res *IntakeResult, r *domain.Reprise) error {
	switch {
	case res.Created && r != nil:
		if err := setReprise(ctx, tx, res.ParcoursID, r); err != nil {
			return err
		}
		res.Start.Reprise = r
	case !res.Started && res.ParcoursID != "":
		stored, err := readReprise(ctx, tx, res.ParcoursID)
		if err != nil {
			return err
		}
		res.Start.Reprise = stored
	}
	return nil
}

func setReprise(ctx context.Context, tx pgx.Tx, parcoursID string, r *domain.Reprise) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE parcours SET reprise = $2 WHERE id = $1`, parcoursID, b); err != nil {
		return fmt.Errorf("keep reprise: %w", err)
	}
	return nil
}

func readReprise(ctx context.Context, q pgx.Tx, parcoursID string) (*domain.Reprise, error) {
	var b []byte
	if err := q.QueryRow(ctx, `SELECT reprise FROM parcours WHERE id = $1`, parcoursID).Scan(&b); err != nil {
		return nil, fmt.Errorf("read reprise: %w", err)
	}
	return decodeReprise(b)
}

func decodeReprise(b []byte) (*domain.Reprise, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var r domain.Reprise
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode reprise: %w", err)
	}
	return &r, nil
}

// ParcoursReprise is the situation the last reprise file gave for a
// parcours (nil: none).
func (db *DB) ParcoursReprise(ctx context.Context, parcoursID string) (*domain.Reprise, error) {
	var b []byte
	if err := db.Pool.QueryRow(ctx, `SELECT reprise FROM parcours WHERE id = $1`, parcoursID).Scan(&b); err != nil {
		return nil, fmt.Errorf("read reprise: %w", err)
	}
	return decodeReprise(b)
}

// SetParcoursReprise keeps the situation a later reprise file gave, once
// what changed has been applied to the parcours.
func (db *DB) SetParcoursReprise(ctx context.Context, parcoursID string, r *domain.Reprise) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = db.Pool.Exec(ctx, `UPDATE parcours SET reprise = $2 WHERE id = $1`, parcoursID, b)
	return err
}

// StockCandidate is an open parcours that may owe the stock contract: entered
// before 1 January 2025 (or marked so by a reprise file) with no contract
// signed since.
type StockCandidate struct {
	ID        string
	EnteredOn domain.Date
	Marked    bool // the reprise file marked it
}

// StockCandidates lists, in keyset pages after the parcours id after (""
// for the first page), the open parcours whose workflow runs, entered
// before 1 January 2025 or marked "stock" by a reprise file, without a
// stock deadline yet (owed, or met by a contract signed since that day).
func (db *DB) StockCandidates(ctx context.Context, after string, limit int) ([]StockCandidate, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT p.id::text, p.entered_on, coalesce((p.reprise->>'stock')::boolean, false)
		FROM parcours p
		WHERE p.closed_at IS NULL AND p.workflow_started_at IS NOT NULL
		  AND (p.entered_on < $1 OR coalesce((p.reprise->>'stock')::boolean, false))
		  AND p.id > $2::uuid
		  AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.parcours_id = p.id AND d.basis = 'stock')
		ORDER BY p.id LIMIT $3`, pgDate(domain.StockDate), cmp.Or(after, "00000000-0000-0000-0000-000000000000"), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StockCandidate, error) {
		var c StockCandidate
		var entered pgtype.Date
		err := r.Scan(&c.ID, &entered, &c.Marked)
		c.EnteredOn = fromPG(entered)
		return c, err
	})
}
