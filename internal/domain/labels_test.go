package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryCodeHasItsFrenchLabel: every code of the lists users choose
// from has a French label, and no label is the code itself.
func TestEveryCodeHasItsFrenchLabel(t *testing.T) {
	check := func(list []string, french func(string) string) {
		t.Helper()
		for _, c := range list {
			require.NotEqual(t, c, french(c), "no French label for %q", c)
		}
	}
	check(ActionKinds, ActionKindFrench)
	check(FollowUpSituations, FollowUpSituationFrench)
	check(EmploymentKinds, EmploymentKindFrench)
	check(ExitReasons, ExitReasonFrench)
	check(ObstacleCategories, ObstacleFrench)
	for cat, details := range OutcomeDetails {
		check([]string{cat}, OutcomeFrench)
		check(details, OutcomeFrench)
	}
	for _, k := range []SanctionKind{SanctionNone, SanctionSuspension, SanctionSuppression} {
		require.NotEqual(t, string(k), k.French())
	}
	require.Equal(t, "inconnu", ActionKindFrench("inconnu"), "an unknown code prints as itself")
}
