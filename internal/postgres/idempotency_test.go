package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// TestCreateOnce: requests with one key, at once or one after the other,
// create one record and all answer it; another key or another caller
// creates another.
func TestCreateOnce(t *testing.T) {
	tb := setup(t)
	var created atomic.Int32
	create := func(context.Context) (string, error) {
		n := created.Add(1)
		time.Sleep(50 * time.Millisecond) // the others arrive meanwhile
		return fmt.Sprintf("rec-%d", n), nil
	}
	var wg sync.WaitGroup
	ids := make([]string, 6)
	replays := make([]bool, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, replay, err := tb.db.CreateOnce(tb.ctx, "token:a", "referent", "k1", create)
			require.NoError(t, err)
			ids[i], replays[i] = id, replay
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, created.Load(), "one record for one key")
	fresh := 0
	for i, id := range ids {
		require.Equal(t, "rec-1", id)
		if !replays[i] {
			fresh++
		}
	}
	require.Equal(t, 1, fresh, "one request created it, the others replay it")

	id, replay, err := tb.db.CreateOnce(tb.ctx, "token:b", "referent", "k1", create)
	require.NoError(t, err)
	require.False(t, replay, "another caller's key is its own")
	require.Equal(t, "rec-2", id)
	id, replay, err = tb.db.CreateOnce(tb.ctx, "token:a", "referent", "k2", create)
	require.NoError(t, err)
	require.False(t, replay)
	require.Equal(t, "rec-3", id)

	// A failed creation records nothing: the retry creates.
	_, _, err = tb.db.CreateOnce(tb.ctx, "token:a", "referent", "k3", func(context.Context) (string, error) { return "", fmt.Errorf("refusé") })
	require.Error(t, err)
	id, replay, err = tb.db.CreateOnce(tb.ctx, "token:a", "referent", "k3", create)
	require.NoError(t, err)
	require.False(t, replay)
	require.Equal(t, "rec-4", id)
}

// TestSaveNoteTellsARetry: saving a named note again inserts nothing and
// says so, so that a refused retry deletes only what it saved itself
// (review finding: a refusal deleted the first call's texts).
func TestSaveNoteTellsARetry(t *testing.T) {
	tb := setup(t)
	res, err := tb.db.Intake(tb.ctx, domain.System, intake("NOTE-RETRY"), "departement")
	require.NoError(t, err)
	id, inserted, err := tb.db.SaveNote(tb.ctx, "", res.ParcoursID, "action_name", "Atelier", "token:a")
	require.NoError(t, err)
	require.True(t, inserted)
	again, inserted, err := tb.db.SaveNote(tb.ctx, id, res.ParcoursID, "action_name", "Atelier", "token:a")
	require.NoError(t, err)
	require.Equal(t, id, again)
	require.False(t, inserted, "the retry's note was there already")
}
