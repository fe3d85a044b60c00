package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/letters/lettertest"
	"github.com/parcours-rsa/parcours/workflows"
)

// pdfOf downloads a letter's PDF and checks its headers against the record.
func pdfOf(t *testing.T, who, lid, wantHash string) string {
	t.Helper()
	req, err := http.NewRequest("GET", fixture.server.URL+"/api/v1/letters/"+lid+"/pdf", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+fixture.tokens[who])
	r := call(t, who, "GET", "/api/v1/letters/"+lid+"/pdf", nil)
	require.Equal(t, 200, r.status, r.raw)
	sum := sha256.Sum256([]byte(r.raw))
	require.Equal(t, wantHash, hex.EncodeToString(sum[:]), "the stored hash is the hash of the bytes served")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, "application/pdf", res.Header.Get("Content-Type"))
	require.Equal(t, `"`+wantHash+`"`, res.Header.Get("ETag"))
	require.Contains(t, res.Header.Get("Repr-Digest"), "sha-256=:")
	text, err := lettertest.Flat([]byte(r.raw))
	require.NoError(t, err)
	return text
}

// breachFor opens a case on a parcours oriented three months ago.
func breachFor(t *testing.T) (pid, rid string) {
	t.Helper()
	now := today()
	pid = newOriented(t, now.AddMonths(-3), "professional", "ref-1")
	r := post(t, "referent:ref-1", "/api/v1/parcours/"+pid+"/breaches", map[string]any{"kind": "refusal_contract", "facts": "Aucun contact.", "reported_on": now.String()})
	require.Equal(t, 201, r.status, r.raw)
	return pid, pid + "-1"
}

// Not parallel: the letterhead is the département's, one for the database;
// this test and the next set it in turn.
func TestLettersOverHTTP(t *testing.T) {
	now := today()
	_, rid := breachFor(t)
	base := "/api/v1/reviews/" + rid
	address := "12 rue des Lilas\nAppartement 4\n34000 Montpellier"
	notice := map[string]any{"kind": "notice", "address": address, "planned_kind": "suspension", "planned_percent": 30, "planned_months": 1}

	// No letter before the département has its letterhead.
	r := post(t, "department", base+"/letters", notice)
	require.Equal(t, 409, r.status, r.raw)
	require.Contains(t, r.raw, "en-tête")
	head := map[string]any{"departement": "Département de l'Hérault", "service": "Direction de l'insertion", "address": "1977 avenue des Moulins\n34087 Montpellier Cedex 4",
		"city": "", "signatory_name": "Élise Carrère", "signatory_title": "Pour le Président du conseil départemental et par délégation"}
	require.Equal(t, 403, call(t, "referent:ref-1", "PUT", "/api/v1/letter-settings/letterhead", head).status)
	require.Equal(t, "city", call(t, "department", "PUT", "/api/v1/letter-settings/letterhead", head).errField())
	head["city"] = "Montpellier"
	r = call(t, "department", "PUT", "/api/v1/letter-settings/letterhead", head)
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, true, r.body["saved"])

	// The département edits the notice's body; a template that does not run is refused.
	require.Equal(t, "body", call(t, "department", "PUT", "/api/v1/letter-settings/bodies/notice", map[string]any{"body": "Bonjour {{.Nom}}"}).errField())
	require.Equal(t, 404, call(t, "department", "PUT", "/api/v1/letter-settings/bodies/lettre-anonyme", map[string]any{"body": "x"}).status)
	body := "Madame, Monsieur,\n\nMention propre au Département de l'Hérault pour {{.Personne}}.\n\nNous envisageons {{.SanctionEnvisagee}} ; vous avez {{.DelaiObservations}} jours à compter de la réception de ce courrier pour présenter vos observations."
	r = call(t, "department", "PUT", "/api/v1/letter-settings/bodies/notice", map[string]any{"body": body})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, true, r.body["edited"].(map[string]any)["notice"])

	// The notice, as a draft: checked, numbered, hashed; produced again, it keeps its number.
	require.Equal(t, 403, post(t, "referent:ref-1", base+"/letters", notice).status)
	require.Equal(t, "address", post(t, "department", base+"/letters", map[string]any{"kind": "notice", "planned_kind": "suspension", "planned_percent": 30, "planned_months": 1}).errField())
	require.Equal(t, "planned_percent", post(t, "department", base+"/letters", map[string]any{"kind": "notice", "address": address, "planned_kind": "suspension", "planned_months": 1}).errField())
	require.Equal(t, 409, post(t, "department", base+"/letters", map[string]any{"kind": "convocation", "address": address, "appointment_on": now.AddDays(3).String(), "appointment_at": "14:30", "place": "Maison départementale"}).status,
		"no convocation before the notice is sent")
	r = post(t, "department", base+"/letters", notice)
	require.Equal(t, 201, r.status, r.raw)
	lid, number, hash := r.body["id"].(string), r.body["number"].(string), r.body["sha256"].(string)
	require.Regexp(t, regexp.MustCompile(`^\d{4}-\d{6}$`), number)
	require.Equal(t, "draft", r.body["status"])
	require.Len(t, hash, 64)
	notice["planned_months"] = 2
	r = post(t, "department", base+"/letters", notice)
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, lid, r.body["id"], "the draft is replaced")
	require.Equal(t, number, r.body["number"])
	require.NotEqual(t, hash, r.body["sha256"], "another planned sanction, another letter")
	hash = r.body["sha256"].(string)

	text := pdfOf(t, "department", lid, hash)
	for _, want := range []string{"Département de l'Hérault", "Léa Martin", "12 rue des Lilas", "Appartement 4", "34000 Montpellier",
		"Mention propre au Département de l'Hérault pour Léa Martin", "une suspension de 30 % du RSA pendant 2 mois", "10 jours à compter de la réception",
		"Fait à Montpellier, le " + now.French(), "Courrier n° " + number, "article L262-37", "Décret n° 2025-478", "Élise Carrère"} {
		require.Contains(t, text, want)
	}
	require.Equal(t, 404, call(t, "referent:ref-2", "GET", "/api/v1/letters/"+lid+"/pdf", nil).status)
	require.Equal(t, 404, call(t, "department", "GET", "/api/v1/letters/not-a-uuid", nil).status)

	// Sent by registered letter, the receipt not known yet: the case waits for it.
	require.Equal(t, "mode", post(t, "department", "/api/v1/letters/"+lid+"/sent", map[string]any{"sent_on": now.String(), "mode": "pigeon"}).errField())
	require.Equal(t, "sent_on", post(t, "department", "/api/v1/letters/"+lid+"/sent", map[string]any{"sent_on": now.AddDays(-1).String(), "mode": "recommande_ar"}).errField(),
		"not sent before it was written")
	r = post(t, "department", "/api/v1/letters/"+lid+"/sent", map[string]any{"sent_on": now.String(), "mode": "recommande_ar"})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "sent", r.body["status"])
	require.Equal(t, hash, r.body["sha256"])
	rv := call(t, "department", "GET", base, nil)
	require.Equal(t, "awaiting_receipt", rv.body["status"], rv.raw)
	require.Nil(t, rv.body["observation_ends_on"])
	require.Contains(t, rv.raw, "Courrier n° "+number)

	require.Equal(t, 409, post(t, "department", "/api/v1/letters/"+lid+"/sent", map[string]any{"sent_on": now.String(), "mode": "simple"}).status, "sent once")
	require.Equal(t, 409, post(t, "department", base+"/letters", notice).status, "the notice is sent: not produced again")
	r = post(t, "department", base+"/decision", map[string]any{"kind": "suspension", "percent": 30, "months": 1, "decided_on": now.String(), "effective_on": now.String(),
		"household_size": 1, "monthly_amount_cents": 64600})
	require.Equal(t, 409, r.status, r.raw)
	require.Contains(t, r.raw, "réception")

	// The acknowledgment comes back: the observation period runs 10 days from it.
	require.Equal(t, "received_on", post(t, "department", "/api/v1/letters/"+lid+"/received", map[string]any{"received_on": now.AddDays(-1).String()}).errField())
	r = post(t, "department", "/api/v1/letters/"+lid+"/received", map[string]any{"received_on": now.String()})
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, now.String(), r.body["received_on"])
	rv = call(t, "department", "GET", base, nil)
	require.Equal(t, "observation", rv.body["status"], rv.raw)
	require.Equal(t, now.AddDays(10).String(), rv.body["observation_ends_on"])
	require.Equal(t, 409, post(t, "department", "/api/v1/letters/"+lid+"/received", map[string]any{"received_on": now.String()}).status)
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(strings.TrimSuffix(rid, "-1"), 1), "review_v2_letter_sent_then_received")

	// A sent letter never changes: not through the service, not in the database.
	pdfOf(t, "department", lid, hash)
	_, err := fixture.db.Pool.Exec(context.Background(), `UPDATE letters SET pdf = '\x00'::bytea WHERE id = $1`, lid)
	require.ErrorContains(t, err, "cannot change")
	_, err = fixture.db.Pool.Exec(context.Background(), `DELETE FROM letters WHERE id = $1`, lid)
	require.ErrorContains(t, err, "cannot be deleted")

	// The convocation to a hearing, with its own number.
	conv := map[string]any{"kind": "convocation", "address": address, "appointment_on": now.AddDays(-1).String(), "appointment_at": "14:30", "place": "Maison départementale des solidarités"}
	require.Equal(t, "appointment_on", post(t, "department", base+"/letters", conv).errField())
	conv["appointment_on"] = now.AddDays(5).String()
	conv["appointment_at"] = "14h30"
	require.Equal(t, "appointment_at", post(t, "department", base+"/letters", conv).errField())
	conv["appointment_at"] = "14:30"
	r = post(t, "department", base+"/letters", conv)
	require.Equal(t, 201, r.status, r.raw)
	require.NotEqual(t, number, r.body["number"])
	text = pdfOf(t, "department", r.body["id"].(string), r.body["sha256"].(string))
	require.Contains(t, text, "Cet entretien aura lieu le "+now.AddDays(5).French()+" à 14:30, à l'adresse suivante : Maison départementale des solidarités")

	list := call(t, "referent:ref-1", "GET", base+"/letters", nil)
	require.Equal(t, 200, list.status, list.raw)
	require.Len(t, items(list, "items"), 2)
	require.Equal(t, 404, call(t, "referent:ref-2", "GET", base+"/letters", nil).status)

	// Every read of a PDF is in the audit log.
	var reads int
	require.NoError(t, fixture.db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'read' AND record_type = 'letter_pdf' AND record_id = $1`, lid).Scan(&reads))
	require.GreaterOrEqual(t, reads, 2)
}

// The decision letter reads the recorded decision (a notice sent outside
// the service, received 12 days ago).
func TestDecisionLetterOverHTTP(t *testing.T) {
	now := today()
	_, rid := breachFor(t)
	base := "/api/v1/reviews/" + rid
	head := map[string]any{"departement": "Département de la Somme", "address": "43 rue de la République\n80000 Amiens",
		"city": "Amiens", "signatory_name": "Jean Dupont", "signatory_title": "Le Président du conseil départemental"}
	require.Equal(t, 200, call(t, "department", "PUT", "/api/v1/letter-settings/letterhead", head).status)
	address := "3 place Gambetta\n80000 Amiens"
	require.Equal(t, 409, post(t, "department", base+"/letters", map[string]any{"kind": "decision", "address": address}).status, "no decision yet")

	r := post(t, "department", base+"/notice", map[string]any{"sent_on": now.AddDays(-14).String(), "received_on": now.AddDays(-12).String(),
		"planned_kind": "suspension", "planned_percent": 30, "planned_months": 2})
	require.Equal(t, 200, r.status, r.raw)
	decided := now.AddDays(-1)
	r = post(t, "department", base+"/decision", map[string]any{"kind": "suspension", "percent": 30, "months": 2, "decided_on": decided.String(),
		"effective_on": now.AddDays(1).String(), "household_size": 1, "monthly_amount_cents": 64600})
	require.Equal(t, 200, r.status, r.raw)
	require.Nil(t, r.body["appeal_due_on"], "until notified, the RAPO window has not started (R262-88)")

	r = post(t, "department", base+"/letters", map[string]any{"kind": "decision", "address": address})
	require.Equal(t, 201, r.status, r.raw)
	text := pdfOf(t, "department", r.body["id"].(string), r.body["sha256"].(string))
	ends := now.AddDays(1).AddMonths(2).AddDays(-1)
	for _, want := range []string{"Objet : Notification de décision", "Léa Martin", "3 place Gambetta",
		"le Département a décidé le " + decided.French() + " de prononcer une suspension de 30 % du RSA pendant 2 mois, du " + now.AddDays(1).French() + " au " + ends.French(),
		"recours administratif préalable obligatoire", "deux mois", "R262-68, R262-68-1 et R262-68-6", "Fait à Amiens"} {
		require.Contains(t, text, want)
	}
	// Handed over today: the RAPO window runs two months from the notification.
	r = post(t, "department", "/api/v1/letters/"+r.body["id"].(string)+"/sent", map[string]any{"sent_on": now.String(), "received_on": now.String(), "mode": "remise_main"})
	require.Equal(t, 200, r.status, r.raw)
	rv := call(t, "department", "GET", base, nil)
	require.Equal(t, "sanction", rv.body["status"])
	require.Equal(t, now.AddMonths(2).String(), rv.body["appeal_due_on"], rv.raw)
	require.Contains(t, rv.raw, "Décision notifiée le "+now.French())
	require.Equal(t, 409, post(t, "department", base+"/decision-notified", map[string]any{"notified_on": now.String()}).status, "once")
	recordWorkflowHistory(t, workflows.ReviewWorkflowID(strings.TrimSuffix(rid, "-1"), 1), "review_v3_decision_notified")
}

func TestDigestSendingsForAdministrators(t *testing.T) {
	t.Parallel()
	require.Equal(t, 403, call(t, "department", "GET", "/api/v1/digest-sendings", nil).status)
	r := call(t, "admin", "GET", "/api/v1/digest-sendings", nil)
	require.Equal(t, 200, r.status, r.raw)
	require.NotNil(t, r.body["items"])
}
