package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// waiter waits for a condition or an instant, whichever comes first, and
// cancels its timer when the condition wins (issue 21, item 1; see
// docs/decisions/0006-timers-and-sync-fallback.md).
//
// workflow.AwaitWithTimeout leaves its timer running when the condition
// wins: the SDK's flag that cancels it (SDKFlagCancelAwaitTimerOnCondition)
// is off, and can only be switched on for a whole process, through an
// environment variable the SDK keeps for emergencies. A parcours that
// received 6 updates before a deadline had 7 timers fire at that midnight,
// each a workflow task. The waiter starts its own timer and cancels it.
//
// Runs recorded before it replay through AwaitWithTimeout, as they were
// written. A run of revision 3 or later cancels from its first wait. An
// older run asks at each wait, under a change id of its own
// ("timers-cancel-w<n>", n counting the run's waits), whether the wait was
// recorded with the cancellable timer: a wait replayed from the history
// finds no marker and keeps the old behaviour; the first wait run live
// records the marker and turns cancelling on for the rest of the run. One
// change id for every wait would not do: the SDK remembers the default
// version answered during the replay of the first wait, and answers it
// again, live, for ever after.
type waiter struct {
	gate    string // change id prefix of the waits ("timers-cancel")
	cancels bool   // the wait cancels its timer when the condition wins
	waits   int    // waits asked so far (the gate's counter)
}

// newWaiter: cancels from the start for runs that have it by revision.
func newWaiter(gate string, cancels bool) *waiter {
	return &waiter{gate: gate, cancels: cancels}
}

// until blocks until cond holds or at passes, whichever comes first.
func (w *waiter) until(ctx workflow.Context, at time.Time, cond func() bool) error {
	if !w.cancels {
		id := fmt.Sprintf("%s-w%d", w.gate, w.waits)
		w.waits++
		w.cancels = workflow.GetVersion(ctx, id, workflow.DefaultVersion, 1) >= 1
	}
	d := at.Sub(workflow.Now(ctx))
	if !w.cancels {
		_, err := workflow.AwaitWithTimeout(ctx, d, cond)
		return err
	}
	if cond() {
		return nil
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel() // a timer still running when the condition won
	timer := workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: "next date due"})
	return workflow.Await(ctx, func() bool { return timer.IsReady() || cond() })
}
