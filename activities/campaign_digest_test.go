package activities_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/workflows"
)

// The supervisor's and the département's digests carry the 1 January 2027
// campaign's line, in their scope; a référent's does not.
func TestDigestCampaignLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.db.CreateAccount(ctx, postgres.Account{Email: "rsa@cd14.example", Name: "Service RSA", Role: domain.RoleDepartment})
	require.NoError(t, err)
	var p3 string
	require.NoError(t, f.db.Pool.QueryRow(ctx, `SELECT id::text FROM parcours WHERE referent_id = 'ref-3'`).Scan(&p3))
	for _, c := range []pgtest.StockCase{
		{ParcoursID: f.p1, Organism: "CCAS de Caen", ReferentID: "ref-1", Deadline: domain.DeadlinePending},
		{ParcoursID: f.p2, Organism: "CCAS de Caen", ReferentID: "ref-1", Deadline: domain.DeadlineMet, MetOn: domain.NewDate(2025, 6, 2)},
		{ParcoursID: p3, Organism: "CCAS de Caen Sud", ReferentID: "ref-3", Deadline: domain.DeadlineOverdue},
	} {
		require.NoError(t, pgtest.WriteStock(ctx, f.db, c))
	}

	box := newMailbox(t)
	d := &activities.Digests{Store: f.db, Sender: box.sender(t), PublicURL: "https://parcours.cd14.example/"}
	res, err := d.SendDigests(ctx, workflows.DigestInput{Day: day})
	require.NoError(t, err)
	require.Equal(t, 3, res.Sent)
	byTo := map[string]string{}
	for _, m := range box.all() {
		byTo[m.To] = m.Data
		for _, secret := range []string{"Dupont", "Lefebvre", "Moreau", "CAF-1", "2850375123456"} {
			require.NotContains(t, m.Data, secret)
		}
	}
	require.Contains(t, byTo["chef@cd14.example"],
		"- Campagne du 1er janvier 2027 : 1 contrat à signer, 0 en retard, 1 signé(s) : https://parcours.cd14.example/campagne-2027\r\n")
	require.Contains(t, byTo["chef@cd14.example"], "1 tâche en retard", "the supervisor's tasks are still there")

	dep := byTo["rsa@cd14.example"]
	require.Contains(t, dep, "Subject: =?utf-8?q?")
	body := dep[strings.Index(dep, "\r\n\r\n")+4:]
	require.Equal(t, strings.ReplaceAll(`Bonjour,

Voici les échéances du 01/12/2026 :
- Campagne du 1er janvier 2027 : 1 contrat à signer, 1 en retard, 1 signé(s) : https://parcours.cd14.example/campagne-2027

Pour ne plus recevoir ce récapitulatif : https://parcours.cd14.example/compte
`, "\n", "\r\n"), body)

	require.NotContains(t, byTo["ref1@cd14.example"], "Campagne", "a référent's stock tasks are among their tasks")

	// Once every contract is signed, the département has nothing to read.
	_, err = f.db.Pool.Exec(ctx, `UPDATE deadlines SET status = 'met' WHERE basis = 'stock'`)
	require.NoError(t, err)
	res, err = d.SendDigests(ctx, workflows.DigestInput{Day: day.AddDays(1)})
	require.NoError(t, err)
	for _, m := range box.all()[3:] {
		require.NotEqual(t, "rsa@cd14.example", m.To)
	}
	require.Positive(t, res.Empty)
}
