package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/workflows"
)

// The law to the day, round two (issue 22): each rule at its boundary days,
// through the API and the real workflows.

// caseOn opens a sanction case reported on a date, on a parcours oriented
// (professional track) three months before: the contract limit has passed.
func caseOn(t *testing.T, reported domain.Date) (pid, rid string) {
	t.Helper()
	pid = newOriented(t, reported.AddMonths(-3), "professional", "ref-1")
	r := post(t, "referent:ref-1", "/api/v1/parcours/"+pid+"/breaches", map[string]any{"kind": "refusal_contract", "facts": "Aucun contact.", "reported_on": reported.String()})
	require.Equal(t, 201, r.status, r.raw)
	return pid, pid + "-1"
}

// noticeReceived records the notice, sent the day before its receipt.
func noticeReceived(t *testing.T, rid string, received domain.Date, kind string) {
	t.Helper()
	r := post(t, "department", "/api/v1/reviews/"+rid+"/notice", map[string]any{"sent_on": received.AddDays(-1).String(), "received_on": received.String(),
		"planned_kind": kind, "planned_percent": 30, "planned_months": 1})
	require.Equal(t, 200, r.status, r.raw)
}

// suspension is a first-breach decision: 30 % for one month.
func suspension(decided, effective, opinion domain.Date) map[string]any {
	d := map[string]any{"kind": "suspension", "percent": 30, "months": 1, "decided_on": decided.String(), "effective_on": effective.String(),
		"household_size": 1, "monthly_amount_cents": 64600}
	if !opinion.IsZero() {
		d["ep_opinion_on"] = opinion.String()
	}
	return d
}

// Item 1: a decision is checked against its own dates.
func TestDecisionCheckedAgainstItsOwnDates(t *testing.T) {
	t.Parallel()
	now := today()
	_, rid := caseOn(t, now.AddDays(-20))
	received := now.AddDays(-14) // observations until received+10 = now-4
	noticeReceived(t, rid, received, "suspension")
	decide := "/api/v1/reviews/" + rid + "/decision"

	r := post(t, "department", decide, suspension(received.AddDays(-1), received.AddDays(-1), domain.Date{}))
	require.Equal(t, 400, r.status, "decided the day before the notice was received: "+r.raw)
	require.Equal(t, "decided_on", r.errField())
	require.Contains(t, r.raw, "L262-37")
	r = post(t, "department", decide, suspension(received.AddDays(10), received.AddDays(10), domain.Date{}))
	require.Equal(t, 400, r.status, "decided on the last day of the observation period, no hearing: "+r.raw)
	require.Equal(t, "decided_on", r.errField())
	require.Contains(t, r.raw, "L262-37 III")
	r = post(t, "department", decide, suspension(received.AddDays(11), received.AddDays(11), received.AddDays(12)))
	require.Equal(t, 400, r.status, "the EP's opinion after the decision: "+r.raw)
	require.Equal(t, "ep_opinion_on", r.errField())
	r = post(t, "department", decide, suspension(now, now, now.AddDays(1)))
	require.Equal(t, 400, r.status, "an opinion in the future: "+r.raw)
	require.Equal(t, "ep_opinion_on", r.errField())
	r = post(t, "department", decide, suspension(received.AddDays(11), received.AddDays(10), domain.Date{}))
	require.Equal(t, "effective_on", r.errField(), r.raw)
	r = post(t, "department", decide, suspension(received.AddDays(11), received.AddDays(11), received.AddDays(11)))
	require.Equal(t, 200, r.status, "the day after the observation period, the opinion the same day: "+r.raw)

	// Heard during the observation period: a decision may follow the hearing, not precede it.
	_, rid = caseOn(t, now.AddDays(-10))
	received = now.AddDays(-7) // observations until now+3
	noticeReceived(t, rid, received, "suspension")
	decide = "/api/v1/reviews/" + rid + "/decision"
	r = post(t, "department", "/api/v1/reviews/"+rid+"/hearing", map[string]any{"on": now.AddDays(-5).String()})
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "department", decide, suspension(now.AddDays(-6), now.AddDays(-6), domain.Date{}))
	require.Equal(t, 400, r.status, "decided the day before the hearing, inside the period: "+r.raw)
	require.Equal(t, "decided_on", r.errField())
	r = post(t, "department", decide, suspension(now.AddDays(-5), now.AddDays(-5), domain.Date{}))
	require.Equal(t, 200, r.status, "decided the day of the hearing: "+r.raw)
}

// Item 2: compliance during a suppression pays nothing back.
func TestComplianceDuringSuppressionPaysNothingBack(t *testing.T) {
	t.Parallel()
	now := today()
	pid, rid := caseOn(t, now.AddDays(-40))
	base := "/api/v1/parcours/" + pid
	noticeReceived(t, rid, now.AddDays(-38), "suspension")
	r := post(t, "department", "/api/v1/reviews/"+rid+"/decision", suspension(now.AddDays(-27), now.AddDays(-27), domain.Date{}))
	require.Equal(t, 200, r.status, r.raw)
	// A contract ends the suspension (remobilisation) and closes the case.
	r = post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "contrat_engagement", "signed_on": now.AddDays(-20).String(),
		"starts_on": now.AddDays(-20).String(), "ends_on": now.AddMonths(6).String()})
	require.Equal(t, 200, r.status, r.raw)
	breach := map[string]any{"kind": "obligations_not_met", "obligation": "ateliers collectifs", "facts": "Absent trois fois.", "reported_on": now.AddDays(-15).String()}
	require.Eventually(t, func() bool {
		r = post(t, "referent:ref-1", base+"/breaches", breach)
		return r.status == 201
	}, 20*time.Second, 100*time.Millisecond, "the first case closes on the remobilisation")
	rid2 := pid + "-2"
	got := call(t, "department", "GET", "/api/v1/reviews/"+rid2, nil)
	require.Equal(t, true, got.body["repeat"], got.raw)
	noticeReceived(t, rid2, now.AddDays(-13), "suppression")
	total := map[string]any{"kind": "suppression", "percent": 100, "months": 4, "decided_on": now.AddDays(-2).String(), "effective_on": now.AddDays(-2).String(),
		"ep_opinion_on": now.AddDays(-2).String(), "household_size": 1, "monthly_amount_cents": 64600}
	r = post(t, "department", "/api/v1/reviews/"+rid2+"/decision", total)
	require.Equal(t, 200, r.status, r.raw)
	r = post(t, "department", "/api/v1/reviews/"+rid2+"/compliance", map[string]any{"on": now.String(), "how": "obligation_met"})
	require.Equal(t, 200, r.status, r.raw)
	got = call(t, "department", "GET", "/api/v1/reviews/"+rid2, nil)
	require.Equal(t, "remobilised", got.body["status"], got.raw)
	require.Equal(t, float64(0), got.body["payback_cents"], "a suppression is not paid back: "+got.raw)
	require.Contains(t, got.raw, "R262-68-1")
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(pid, 2), "review_v4_law_suppression_no_payback")
}

// Item 3: the RAPO window runs from the decision's notification.
func TestAppealWindowFromTheNotification(t *testing.T) {
	t.Parallel()
	now := today()
	reported := now.AddMonths(-3)
	_, rid := caseOn(t, reported)
	noticeReceived(t, rid, reported.AddDays(2), "suspension")
	decided := reported.AddDays(13)
	r := post(t, "department", "/api/v1/reviews/"+rid+"/decision", suspension(decided, decided, domain.Date{}))
	require.Equal(t, 200, r.status, r.raw)
	require.Nil(t, r.body["appeal_due_on"], "no notification: the window has not started")
	require.Contains(t, r.raw, "notification non enregistrée")
	pending := false
	for _, task := range items(call(t, "department", "GET", "/api/v1/parcours/"+strings.TrimSuffix(rid, "-1"), nil), "tasks") {
		pending = pending || task["kind"] == "record_decision_notified" && task["status"] == "open"
	}
	require.True(t, pending, "the département is asked to record the notification")
	// More than two months after the decision, never notified: still in time.
	r = post(t, "department", "/api/v1/reviews/"+rid+"/appeal", map[string]any{"filed_on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(strings.TrimSuffix(rid, "-1"), 1), "review_v4_law_appeal_before_notification")

	// Notified: two months from then. (The sanction takes effect later, so
	// that the case is still open when the late appeal is recorded.)
	_, rid = caseOn(t, reported)
	noticeReceived(t, rid, reported.AddDays(2), "suspension")
	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision", suspension(decided, now.AddDays(-10), domain.Date{}))
	require.Equal(t, 200, r.status, r.raw)
	notified := now.AddMonths(-2).AddDays(-3)
	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision-notified", map[string]any{"notified_on": notified.String()})
	require.Equal(t, 200, r.status, r.raw)
	due := notified.AddMonths(2)
	require.Equal(t, due.String(), r.body["appeal_due_on"])
	require.Contains(t, r.raw, "R262-88")
	r = post(t, "department", "/api/v1/reviews/"+rid+"/appeal", map[string]any{"filed_on": due.AddDays(1).String()})
	require.Equal(t, 409, r.status, "the day after the window: "+r.raw)
	require.Contains(t, r.raw, "R262-88")
	r = post(t, "department", "/api/v1/reviews/"+rid+"/appeal", map[string]any{"filed_on": due.String()})
	require.Equal(t, 200, r.status, "the window's last day: "+r.raw)
}

// Item 4: the 50 % cap cites R262-68-6.
func TestShareCapCitesItsArticle(t *testing.T) {
	t.Parallel()
	now := today()
	_, rid := caseOn(t, now.AddDays(-20))
	noticeReceived(t, rid, now.AddDays(-14), "suspension")
	d := suspension(now, now, domain.Date{})
	d["household_size"], d["percent"] = 2, 51
	r := post(t, "department", "/api/v1/reviews/"+rid+"/decision", d)
	require.Equal(t, "percent", r.errField(), r.raw)
	require.Contains(t, r.raw, "R262-68-6")
	require.NotContains(t, r.raw, "R262-68-1")
	d["percent"] = 50
	r = post(t, "department", "/api/v1/reviews/"+rid+"/decision", d)
	require.Equal(t, 200, r.status, r.raw)
}

// Item 5: a breach report is checked against the contract's dates.
func TestBreachReportTiming(t *testing.T) {
	t.Parallel()
	now := today()
	entered := now.AddMonths(-2).AddDays(-10)
	pid := newOriented(t, entered, "professional", "ref-1")
	limit := entered.AddDays(5).AddMonths(1) // the contract month (D5411-14-1 code du travail)
	breaches := "/api/v1/parcours/" + pid + "/breaches"
	r := post(t, "referent:ref-1", breaches, map[string]any{"kind": "refusal_contract", "facts": "Aucun contact.", "reported_on": limit.String()})
	require.Equal(t, 400, r.status, "on the limit's last day: "+r.raw)
	require.Equal(t, "reported_on", r.errField())
	require.Contains(t, r.raw, "D5411-14-1")
	r = post(t, "referent:ref-1", breaches, map[string]any{"kind": "refusal_contract", "facts": "Aucun contact.", "reported_on": limit.AddDays(1).String()})
	require.Equal(t, 201, r.status, "the day after: "+r.raw)

	pid = newOriented(t, now.AddMonths(-1), "professional", "ref-1")
	starts := now.AddDays(-10)
	r = post(t, "referent:ref-1", "/api/v1/parcours/"+pid+"/contracts", map[string]any{"kind": "contrat_engagement", "signed_on": starts.String(),
		"starts_on": starts.String(), "ends_on": now.AddMonths(6).String()})
	require.Equal(t, 200, r.status, r.raw)
	breaches = "/api/v1/parcours/" + pid + "/breaches"
	unmet := map[string]any{"kind": "obligations_not_met", "obligation": "ateliers", "facts": "Absent.", "reported_on": starts.AddDays(-1).String()}
	r = post(t, "referent:ref-1", breaches, unmet)
	require.Equal(t, 400, r.status, "before the contract started: "+r.raw)
	require.Equal(t, "reported_on", r.errField())
	r = post(t, "referent:ref-1", breaches, map[string]any{"kind": "refusal_contract", "facts": "x", "reported_on": now.String()})
	require.Equal(t, 400, r.status, "a contract is in force: no contract is missing: "+r.raw)
	require.Equal(t, "reported_on", r.errField())
	unmet["reported_on"] = starts.String()
	r = post(t, "referent:ref-1", breaches, unmet)
	require.Equal(t, 201, r.status, "the contract's first day: "+r.raw)
}

// Item 9: « re-orientation within 6 months » includes the last day.
func TestReorientationWithinSixMonthsIncludesTheLastDay(t *testing.T) {
	t.Parallel()
	now := today()
	for _, c := range []struct {
		extra  int
		within bool
	}{{0, true}, {1, false}} {
		entered := now.AddMonths(-7)
		pid := newOriented(t, entered, "social", "ref-1")
		base := "/api/v1/parcours/" + pid
		oriented := entered.AddDays(5)
		r := post(t, "referent:ref-1", base+"/reorientation-requests", map[string]any{"reason": "Projet", "requested_on": oriented.AddMonths(5).String()})
		require.Equal(t, 200, r.status, r.raw)
		decided := oriented.AddMonths(6).AddDays(c.extra)
		r = post(t, "department", base+"/reorientation-decision", map[string]any{"accept": true, "track": "professional", "organism": "France Travail",
			"referent_id": "ref-1", "decided_on": decided.String(), "reason": "Accord"})
		require.Equal(t, 200, r.status, r.raw)
		orientations := items(r, "orientations")
		require.Len(t, orientations, 2)
		require.Equal(t, c.within, orientations[1]["within_6_months"], "oriented %s, re-oriented %s", oriented, decided)
		if c.within {
			recordHistory(t, pid, "parcours_v10_law_reorientation_last_day")
		}
	}
}

// Item 8: an obstacle dated before the review's due date moves it to 12
// months, even when recorded after the due date passed.
func TestObstacleDatedBeforeTheReviewsDueDate(t *testing.T) {
	t.Parallel()
	now := today()
	for _, c := range []struct {
		extra int
		moved bool
	}{{0, true}, {1, false}} {
		pid := newOriented(t, now.AddMonths(-9), "social", "ref-1")
		base := "/api/v1/parcours/" + pid
		starts := now.AddMonths(-8)
		r := post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "contrat_engagement", "signed_on": starts.String(),
			"starts_on": starts.String(), "ends_on": now.AddMonths(4).String()})
		require.Equal(t, 200, r.status, r.raw)
		due := starts.AddMonths(6)
		r = post(t, "referent:ref-1", base+"/obstacles", map[string]any{"categories": []string{"housing"}, "on": due.AddDays(c.extra).String()})
		require.Equal(t, 200, r.status, r.raw)
		var review map[string]any
		for _, d := range items(r, "deadlines") {
			if d["kind"] == "review" {
				review = d
			}
		}
		require.NotNil(t, review, r.raw)
		if c.moved {
			require.Equal(t, starts.AddMonths(12).String(), review["due_on"], review)
			require.Equal(t, "pending", review["status"], review)
			require.Contains(t, review["explanation"], "L262-31")
			recordHistory(t, pid, "parcours_v10_law_obstacle_before_due")
		} else {
			require.Equal(t, due.String(), review["due_on"], review)
			require.Equal(t, "overdue", review["status"], review)
		}
	}
}

// Item 7: the 2025 contract month runs from the orientation's notification.
func TestContractMonthFromTheOrientationsNotification(t *testing.T) {
	t.Parallel()
	now := today()
	entered := now.AddDays(-20)
	legal := func(r response) map[string]any {
		for _, d := range items(r, "deadlines") {
			if d["kind"] == "contract" && d["basis"] == "legal" {
				return d
			}
		}
		t.Fatalf("no legal contract deadline: %s", r.raw)
		return nil
	}
	// Notified five days after the decision: the month runs from then.
	r := post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()))
	require.Equal(t, 201, r.status, r.raw)
	pid := r.body["id"].(string)
	decided, notified := entered.AddDays(2), entered.AddDays(7)
	orient := map[string]any{"track": "social", "organism": "CCAS", "referent_id": "ref-1", "decided_on": decided.String(), "notified_on": decided.AddDays(-1).String()}
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation", orient)
	require.Equal(t, 400, r.status, "notified before the decision: "+r.raw)
	require.Equal(t, "notified_on", r.errField())
	orient["notified_on"] = notified.String()
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation", orient)
	require.Equal(t, 200, r.status, r.raw)
	d := legal(r)
	require.Equal(t, notified.AddMonths(1).String(), d["due_on"], d)
	require.Contains(t, d["explanation"], "notification de l'orientation le "+notified.French())
	require.Contains(t, d["explanation"], "D5411-14-1")

	// Not given: the decision's date, said so; the letter's receipt moves it.
	r = post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()))
	require.Equal(t, 201, r.status, r.raw)
	pid = r.body["id"].(string)
	delete(orient, "notified_on")
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation", orient)
	require.Equal(t, 200, r.status, r.raw)
	d = legal(r)
	require.Equal(t, decided.AddMonths(1).String(), d["due_on"], d)
	require.Contains(t, d["explanation"], "notification non enregistrée")
	require.Equal(t, true, r.body["orientation"].(map[string]any)["notified_assumed"], r.raw)
	require.Contains(t, d["explanation"], decided.French())
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation-notified", map[string]any{"notified_on": decided.AddDays(-1).String()})
	require.Equal(t, "notified_on", r.errField(), r.raw)
	require.Equal(t, 403, post(t, "referent:ref-1", "/api/v1/parcours/"+pid+"/orientation-notified", map[string]any{"notified_on": notified.String()}).status)
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation-notified", map[string]any{"notified_on": notified.String()})
	require.Equal(t, 200, r.status, r.raw)
	d = legal(r)
	require.Equal(t, notified.AddMonths(1).String(), d["due_on"], d)
	require.Contains(t, d["explanation"], "notification de l'orientation le "+notified.French())
	require.True(t, strings.Contains(r.raw, "Orientation notifiée le "+notified.French()), r.raw)
	require.Equal(t, notified.String(), r.body["orientation"].(map[string]any)["notified_on"], "the read model shows it")
	require.Nil(t, r.body["orientation"].(map[string]any)["notified_assumed"])
	recordHistory(t, pid, "parcours_v10_law_orientation_notified")

	// Recorded after the month from the decision passed: the limit runs
	// again, and the reminders it brought are no longer due.
	r = post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), now.AddDays(-45).String()))
	require.Equal(t, 201, r.status, r.raw)
	pid = r.body["id"].(string)
	orient["decided_on"] = now.AddDays(-40).String()
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation", orient)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "overdue", legal(r)["status"], r.raw)
	relances := func(r response) (n int) {
		for _, task := range items(r, "tasks") {
			if task["kind"] == "relance_1" && task["status"] == "open" {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, relances(r), r.raw)
	r = post(t, "department", "/api/v1/parcours/"+pid+"/orientation-notified", map[string]any{"notified_on": now.AddDays(-5).String()})
	require.Equal(t, 200, r.status, r.raw)
	d = legal(r)
	require.Equal(t, now.AddDays(-5).AddMonths(1).String(), d["due_on"], d)
	require.Equal(t, "pending", d["status"], d)
	require.Zero(t, relances(r), r.raw)
}

// Item 6: the repeat window counts from the earlier decision's
// notification. Not parallel: it shortens the window of the parcours it
// starts (PARCOURS_REPEAT_WINDOW_MONTHS=1) while no other test runs.
func TestRepeatWindowFromTheNotification(t *testing.T) {
	saved := fixture.svc.Settings
	settings := domain.DefaultSettings()
	settings.Escalation.RepeatMonths = 1
	fixture.svc.Settings = settings
	defer func() { fixture.svc.Settings = saved }()
	now := today()
	for _, c := range []struct {
		extra  int
		repeat bool
	}{{0, true}, {1, false}} {
		pid, rid := caseOn(t, now.AddMonths(-4))
		base := "/api/v1/parcours/" + pid
		noticeReceived(t, rid, now.AddMonths(-4).AddDays(2), "suspension")
		decided := now.AddMonths(-4).AddDays(13)
		notified := decided.AddDays(10)
		r := post(t, "department", "/api/v1/reviews/"+rid+"/decision", suspension(decided, decided, domain.Date{}))
		require.Equal(t, 200, r.status, r.raw)
		r = post(t, "department", "/api/v1/reviews/"+rid+"/decision-notified", map[string]any{"notified_on": notified.String()})
		require.Equal(t, 200, r.status, r.raw)
		r = post(t, "referent:ref-1", base+"/contracts", map[string]any{"kind": "contrat_engagement", "signed_on": notified.AddDays(1).String(),
			"starts_on": notified.AddDays(1).String(), "ends_on": now.AddMonths(6).String()})
		require.Equal(t, 200, r.status, r.raw)
		reported := notified.AddMonths(1).AddDays(c.extra)
		breach := map[string]any{"kind": "obligations_not_met", "obligation": "ateliers", "facts": "Absent.", "reported_on": reported.String()}
		require.Eventually(t, func() bool {
			r = post(t, "referent:ref-1", base+"/breaches", breach)
			return r.status == 201
		}, 20*time.Second, 100*time.Millisecond, "the first case closes on the remobilisation")
		got := call(t, "department", "GET", "/api/v1/reviews/"+pid+"-2", nil)
		require.Equal(t, c.repeat, got.body["repeat"], "decided %s, notified %s, reported %s (window of 1 month): %s", decided, notified, reported, got.raw)
		if c.repeat {
			recordHistory(t, pid, "parcours_v10_law_repeat_from_notification")
		}
	}
}

// Item 10: art. 642 CPC as an option (PARCOURS_ART642), off by default.
// Not parallel: it turns the option on for the parcours it starts.
func TestArt642Option(t *testing.T) {
	// An entry whose one-month target ends on a Saturday.
	entered := today().AddMonths(-2)
	for entered.AddMonths(1).Time().Weekday() != time.Saturday || domain.PublicHoliday(entered.AddMonths(1).AddDays(2)) {
		entered = entered.AddDays(-1)
	}
	saturday := entered.AddMonths(1)
	target := func(on bool) map[string]any {
		saved := fixture.svc.Settings
		settings := domain.DefaultSettings()
		settings.Art642 = on
		fixture.svc.Settings = settings
		defer func() { fixture.svc.Settings = saved }()
		r := post(t, "department", "/api/v1/parcours", intakeBody(beneficiary(t), entered.String()))
		require.Equal(t, 201, r.status, r.raw)
		for _, d := range items(r, "deadlines") {
			if d["kind"] == "orientation" && d["basis"] == "target" {
				return d
			}
		}
		t.Fatalf("no target orientation deadline: %s", r.raw)
		return nil
	}
	d := target(false)
	require.Equal(t, saturday.String(), d["due_on"], "off: the Saturday stays")
	require.NotContains(t, d["explanation"], "642")
	d = target(true)
	require.Equal(t, saturday.AddDays(2).String(), d["due_on"], "on: the Monday after")
	require.Contains(t, d["explanation"], "samedi "+saturday.French())
	require.Contains(t, d["explanation"], "art. 642 du code de procédure civile")
}
