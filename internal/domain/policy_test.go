package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func byKey(ds []Deadline) map[string]Deadline {
	m := map[string]Deadline{}
	for _, x := range ds {
		m[x.Key()] = x
	}
	return m
}

func TestDepartementPolicyAtIntake(t *testing.T) {
	t.Parallel()
	ds := byKey(PolicyDepartement.Schedule(Facts{EnteredOn: d("2026-01-12"), ReceivedOn: d("2026-01-15")}))
	require.Len(t, ds, 3, "targets for orientation and contract, legal orientation; no legal contract before an orientation")

	o := ds["orientation/target"]
	require.Equal(t, "2026-02-12", o.DueOn.String())
	require.Equal(t, "orientation due le 12/02/2026 — engagement départemental (1 mois après l'entrée en droits et devoirs le 12/01/2026)", o.Explain())

	c := ds["contract/target"]
	require.Equal(t, "2026-03-12", c.DueOn.String())
	require.Equal(t, "contrat dû le 12/03/2026 — engagement départemental (2 mois après l'entrée en droits et devoirs le 12/01/2026)", c.Explain())

	l := ds["orientation/legal"]
	require.Equal(t, "loi-2025", l.RuleSet)
	require.Equal(t, "2026-02-26", l.DueOn.String(), "6 weeks after receipt on 15/01/2026")
	require.Equal(t, "délai légal, D262-65-2 CASF (6 semaines après la réception de l'information par le Département le 15/01/2026)", l.Rule)
}

func TestLegalContractRestartsFromOrientation(t *testing.T) {
	t.Parallel()
	ds := byKey(PolicyLoi.Schedule(Facts{EnteredOn: d("2026-01-31"), OrientedOn: d("2026-01-31"), Track: TrackSocial}))
	require.Len(t, ds, 2)
	require.Equal(t, "2026-02-28", ds["contract/legal"].DueOn.String(), "1 month from 31/01 ends on 28/02")
	require.Equal(t, "2026-03-14", ds["orientation/legal"].DueOn.String(), "receipt defaults to entry")
}

func TestLawInForceOnTheAnchorDate(t *testing.T) {
	t.Parallel()
	// Information received in December 2024: the 2012 law (2 months) applies to the orientation;
	// orientation decided in January 2025: the 2025 law (1 month) applies to the contract.
	ds := byKey(PolicyLoi.Schedule(Facts{
		EnteredOn: d("2024-12-20"), ReceivedOn: d("2024-12-31"),
		OrientedOn: d("2025-01-10"), Track: TrackSocial,
	}))
	require.Equal(t, "loi-2012", ds["orientation/legal"].RuleSet)
	require.Equal(t, "2025-02-28", ds["orientation/legal"].DueOn.String(), "2 months from 31/12/2024")
	require.Equal(t, "loi-2025", ds["contract/legal"].RuleSet)
	require.Equal(t, "2025-02-10", ds["contract/legal"].DueOn.String())

	// Before 2025 the contract delay depended on the track.
	pro := byKey(PolicyLoi.Schedule(Facts{EnteredOn: d("2024-03-01"), OrientedOn: d("2024-03-31"), Track: TrackProfessional}))
	require.Equal(t, "2024-04-30", pro["contract/legal"].DueOn.String())
	soc := byKey(PolicyLoi.Schedule(Facts{EnteredOn: d("2024-03-01"), OrientedOn: d("2024-03-31"), Track: TrackSocial}))
	require.Equal(t, "2024-05-31", soc["contract/legal"].DueOn.String())

	require.Equal(t, "loi-2012", LawInForce(d("2024-12-31")).Name)
	require.Equal(t, "loi-2025", LawInForce(d("2025-01-01")).Name)
}

func TestLeapYearTargets(t *testing.T) {
	t.Parallel()
	ds := byKey(PolicyDepartement.Schedule(Facts{EnteredOn: d("2027-12-31")}))
	require.Equal(t, "2028-01-31", ds["orientation/target"].DueOn.String())
	require.Equal(t, "2028-02-29", ds["contract/target"].DueOn.String())
}

func TestLookupPolicy(t *testing.T) {
	t.Parallel()
	p, ok := LookupPolicy(DefaultPolicy)
	require.True(t, ok)
	require.Equal(t, "departement", p.Name)
	_, ok = LookupPolicy("calvados")
	require.False(t, ok)
	require.Equal(t, []string{"departement", "loi"}, PolicyNames())
}

func TestNIR(t *testing.T) {
	t.Parallel()
	require.NoError(t, ValidateNIR("2820251108030"))   // 13 characters, no key
	require.NoError(t, ValidateNIR("282025110803094")) // key 94 (docs/cnaf-flux.md)
	require.NoError(t, ValidateNIR("177039305000566"))
	require.NoError(t, ValidateNIR("123456789012311"))
	require.Error(t, ValidateNIR("190555699800888"), "wrong key")
	require.Error(t, ValidateNIR("28202511080"))
	require.Error(t, ValidateNIR("5820251108030"))
	require.Error(t, ValidateNIR("28202511O8030"))
	// Corsica: 2A counts as 19 in the key.
	n, err := nirNumber("185022A012345")
	require.NoError(t, err)
	require.Equal(t, uint64(1850219012345), n)
	require.Equal(t, "2820251108030", NIRBody("282025110803094"))
}

func TestIntakeValidate(t *testing.T) {
	t.Parallel()
	today := d("2026-11-22")
	ok := Intake{BeneficiaryID: "CAF-123", LastName: "Martin", FirstName: "Léa", BirthDate: d("1990-05-04"), EnteredAt: d("2026-10-01")}
	require.NoError(t, ok.Validate(today))

	for field, in := range map[string]Intake{
		"beneficiary_id": func() Intake { x := ok; x.BeneficiaryID = ""; return x }(),
		"last_name":      func() Intake { x := ok; x.LastName = ""; return x }(),
		"first_name":     func() Intake { x := ok; x.FirstName = "<b>"; return x }(),
		"birth_date":     func() Intake { x := ok; x.BirthDate = Date{}; return x }(),
		"entered_at":     func() Intake { x := ok; x.EnteredAt = d("2026-11-23"); return x }(),
		"received_on":    func() Intake { x := ok; x.ReceivedOn = d("2026-09-30"); return x }(),
		"nir":            func() Intake { x := ok; x.NIR = "190555699800888"; return x }(),
	} {
		err := in.Validate(today)
		require.Error(t, err, field)
		require.Equal(t, EINVALID, ErrorCode(err))
		require.Equal(t, field, ErrorField(err))
	}
}

func TestContractValidate(t *testing.T) {
	t.Parallel()
	today := d("2026-11-22")
	c := Contract{Kind: ContractCER, SignedOn: d("2026-11-01"), StartsOn: d("2026-11-01"), EndsOn: d("2027-04-30")}
	require.NoError(t, c.Validate(today))
	c.EndsOn = d("2026-10-31")
	require.Equal(t, "ends_on", ErrorField(c.Validate(today)))
	c.EndsOn = c.StartsOn
	require.Equal(t, "ends_on", ErrorField(c.Validate(today)))
	c = Contract{Kind: "cdi", SignedOn: d("2026-11-01"), StartsOn: d("2026-11-01"), EndsOn: d("2027-04-30")}
	require.Equal(t, "kind", ErrorField(c.Validate(today)))
}

// Issue 22, item 7: the 2025 contract month runs from the orientation's
// notification (D5411-14-1 code du travail), and says which date it used.
func TestContractMonthFromTheNotification(t *testing.T) {
	t.Parallel()
	f := Facts{EnteredOn: d("2026-01-02"), OrientedOn: d("2026-01-12"), Track: TrackSocial}
	old, ok := LawDeadline(DeadlineContract, f)
	require.True(t, ok)
	require.Equal(t, "2026-02-12", old.DueOn.String())
	require.Equal(t, AnchorOrientation, old.Anchor, "recorded before notified_on: as before")
	require.NotContains(t, old.Rule, "notification")

	o := Orientation{Track: TrackSocial, DecidedOn: d("2026-01-12")}
	o.AssumeNotified()
	f.Orient(o)
	assumed, _ := LawDeadline(DeadlineContract, f)
	require.Equal(t, "2026-02-12", assumed.DueOn.String())
	require.Contains(t, assumed.Rule, "notification non enregistrée")
	require.Contains(t, assumed.Rule, "décision d'orientation le 12/01/2026")

	o = Orientation{Track: TrackSocial, DecidedOn: d("2026-01-12"), NotifiedOn: d("2026-01-31")}
	f.Orient(o)
	notified, _ := LawDeadline(DeadlineContract, f)
	require.Equal(t, "2026-02-28", notified.DueOn.String(), "31/01 + 1 month (art. 641)")
	require.Equal(t, AnchorNotification, notified.Anchor)
	require.Contains(t, notified.Rule, "D5411-14-1 code du travail (1 mois après la notification de l'orientation le 31/01/2026)")

	require.Equal(t, "notified_on", ErrorField(Orientation{Track: TrackSocial, Organism: "CCAS", ReferentID: "r", DecidedOn: d("2026-01-12"),
		NotifiedOn: d("2026-01-11")}.Validate(d("2026-02-01"))))
}

// Issue 22, item 9: the 6 months of a re-orientation include their last day.
func TestWithinSixMonthsIncludesTheLastDay(t *testing.T) {
	t.Parallel()
	require.True(t, WithinSixMonths(d("2026-03-31"), d("2026-09-30")))
	require.False(t, WithinSixMonths(d("2026-03-31"), d("2026-10-01")))
	require.True(t, WithinSixMonths(d("2026-01-15"), d("2026-07-15")))
	require.False(t, WithinSixMonths(d("2026-01-15"), d("2026-07-16")))
}

// Issue 22, item 10: art. 642 CPC, an option off by default.
func TestArt642MovesToTheNextWorkingDay(t *testing.T) {
	t.Parallel()
	require.Equal(t, "2026-02-09", NextWorkingDay(d("2026-02-07")).String(), "Saturday → Monday")
	require.Equal(t, "2026-05-26", NextWorkingDay(d("2026-05-24")).String(), "Whit Sunday → Tuesday after Whit Monday")
	require.Equal(t, "2026-02-06", NextWorkingDay(d("2026-02-06")).String(), "a Friday stays")
	f := Facts{EnteredOn: d("2026-01-07"), ReceivedOn: d("2026-01-07")}
	off := PolicyDepartement.Schedule(f)[0]
	require.Equal(t, "2026-02-07", off.DueOn.String(), "off by default: Saturday stays")
	f.Art642 = true
	on := PolicyDepartement.Schedule(f)[0]
	require.Equal(t, "2026-02-09", on.DueOn.String())
	require.Contains(t, on.Explain(), "samedi 07/02/2026")
	require.Contains(t, on.Explain(), "art. 642 du code de procédure civile")
}
