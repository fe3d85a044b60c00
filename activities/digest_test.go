package activities_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/activities"
	"github.com/parcours-rsa/parcours/internal/digest"
	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
	"github.com/parcours-rsa/parcours/internal/postgres/pgtest"
	"github.com/parcours-rsa/parcours/workflows"
)

// mailbox is an in-process SMTP server (go-smtp): the sender under test has
// a real SMTP conversation with it.
type mailbox struct {
	mu      sync.Mutex
	msgs    []mail
	rejects int // refuse this many messages at DATA before accepting
	addr    string
}

type mail struct {
	From, To, Data string
}

type session struct {
	box      *mailbox
	from, to string
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	if s.box.rejects > 0 {
		s.box.rejects--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.box.msgs = append(s.box.msgs, mail{s.from, s.to, string(b)})
	return nil
}

func newMailbox(t *testing.T) *mailbox {
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{box: box}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	box.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return box
}

func (b *mailbox) sender(t *testing.T) digest.SMTP {
	host, port, err := net.SplitHostPort(b.addr)
	require.NoError(t, err)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return digest.SMTP{Host: host, Port: p, From: "parcours@cd14.example", Timeout: 5 * time.Second}
}

func (b *mailbox) all() []mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mail(nil), b.msgs...)
}

// fixture: two référents of the structure "Caen Nord" and their supervisor,
// one référent without tasks, one who opted out.
type fixture struct {
	db                      *postgres.DB
	ref1, ref2, sup, optOut string // account ids
	p1, p2                  string // parcours ids of ref-1
}

var day = domain.NewDate(2026, 12, 1) // a Tuesday

func newFixture(t *testing.T) fixture {
	ctx := context.Background()
	db := pgtest.New(t)
	f := fixture{db: db}
	mk := func(email, name string, role domain.Role, ref, structure string) string {
		id, err := db.CreateAccount(ctx, postgres.Account{Email: email, Name: name, Role: role, ReferentID: ref, Structure: structure})
		require.NoError(t, err)
		return id
	}
	f.ref1 = mk("ref1@cd14.example", "Agnès Référente", domain.RoleReferent, "ref-1", "Caen Nord")
	f.ref2 = mk("ref2@cd14.example", "Bruno Référent", domain.RoleReferent, "ref-2", "Caen Nord")
	f.sup = mk("chef@cd14.example", "Chloé Cheffe", domain.RoleSupervisor, "", "Caen Nord")
	f.optOut = mk("ref3@cd14.example", "Denis Référent", domain.RoleReferent, "ref-3", "Caen Sud")
	require.NoError(t, db.SetDigestOptOut(ctx, f.optOut, true))

	parcours := func(external, last, first, nir, referent string) string {
		b, p := uuid.NewString(), uuid.NewString()
		_, err := db.Pool.Exec(ctx, `INSERT INTO beneficiaries (id, external_id, nir, last_name, first_name, birth_date) VALUES ($1, $2, $3, $4, $5, '1985-03-02')`,
			b, external, nir, last, first)
		require.NoError(t, err)
		_, err = db.Pool.Exec(ctx, `INSERT INTO parcours (id, beneficiary_id, entered_on, received_on, policy, status, referent_id) VALUES ($1, $2, '2026-10-01', '2026-10-01', 'departement', 'oriented', $3)`,
			p, b, referent)
		require.NoError(t, err)
		return p
	}
	task := func(p string, kind domain.TaskKind, due string, overdue bool) {
		var at any
		if overdue {
			at = time.Date(2026, 11, 21, 0, 0, 0, 0, domain.Paris)
		}
		_, err := db.Pool.Exec(ctx, `INSERT INTO tasks (parcours_id, kind, cycle, due_on, status, assignee, overdue_at) VALUES ($1, $2, 1, $3, 'open', 'ref-1', $4)`,
			p, kind, due, at)
		require.NoError(t, err)
	}
	f.p1 = parcours("CAF-1", "Dupont", "Marie", "2850375123456", "ref-1")
	f.p2 = parcours("CAF-2", "Lefebvre", "Jean", "1790214098765", "ref-1")
	p3 := parcours("CAF-3", "Moreau", "Sophie", "2920633012345", "ref-3")
	task(f.p1, domain.TaskOrient, "2026-11-20", true)         // overdue
	task(f.p1, domain.TaskSignContract, "2026-12-05", false)  // due within 7 days
	task(f.p2, domain.TaskSignContract, "2026-12-08", false)  // due on the 7th day
	task(f.p2, domain.TaskRenewContract, "2026-12-20", false) // too far: not in the digest
	task(p3, domain.TaskOrient, "2026-11-01", true)           // ref-3 opted out
	_, err := db.Pool.Exec(ctx, `INSERT INTO tasks (parcours_id, kind, cycle, due_on, status, done_at) VALUES ($1, 'follow_up_3', 1, '2026-12-02', 'done', now())`, f.p2)
	require.NoError(t, err) // done: not in the digest
	return f
}

func sendings(t *testing.T, db *postgres.DB) map[string]postgres.DigestRecord {
	rows, err := db.ListDigestSendings(context.Background(), 100)
	require.NoError(t, err)
	out := map[string]postgres.DigestRecord{}
	for _, r := range rows {
		out[r.Email] = r
	}
	return out
}

func TestDigestContentOverSMTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	box := newMailbox(t)
	d := &activities.Digests{Store: f.db, Sender: box.sender(t), PublicURL: "https://parcours.cd14.example/"}
	res, err := d.SendDigests(context.Background(), workflows.DigestInput{Day: day})
	require.NoError(t, err)
	require.Equal(t, workflows.DigestResult{Day: day, Sent: 2, Empty: 1}, res)

	msgs := box.all()
	require.Len(t, msgs, 2)
	byTo := map[string]mail{}
	for _, m := range msgs {
		byTo[m.To] = m
		require.Equal(t, "parcours@cd14.example", m.From)
		for _, secret := range []string{"Dupont", "Marie", "Lefebvre", "Jean", "Moreau", "2850375123456", "1790214098765", "285037", "CAF-1"} {
			require.NotContains(t, m.Data, secret, "no beneficiary's name, NIR or identifier in a digest")
		}
	}
	require.NotContains(t, byTo, "ref2@cd14.example", "nothing to say: nothing sent")
	require.NotContains(t, byTo, "ref3@cd14.example", "opted out")

	ref := byTo["ref1@cd14.example"].Data
	require.Contains(t, ref, "Subject: =?utf-8?q?")
	body := ref[strings.Index(ref, "\r\n\r\n")+4:]
	want := strings.ReplaceAll(`Bonjour,

Voici les échéances du 01/12/2026 :
- 1 tâche en retard
- 2 tâches à échéance dans les 7 prochains jours

Par type de tâche :
- Orienter : 1
- Signer le contrat : 2

En retard :
- Orienter, dû le 20/11/2026 : https://parcours.cd14.example/dossiers/`+f.p1+`

À échéance :
- Signer le contrat, dû le 05/12/2026 : https://parcours.cd14.example/dossiers/`+f.p1+`
- Signer le contrat, dû le 08/12/2026 : https://parcours.cd14.example/dossiers/`+f.p2+`

Pour ne plus recevoir ce récapitulatif : https://parcours.cd14.example/compte
`, "\n", "\r\n")
	require.Equal(t, want, body)
	require.Contains(t, byTo["chef@cd14.example"].Data, "pour la structure Caen Nord")
	require.Contains(t, byTo["chef@cd14.example"].Data, "1 tâche en retard")

	rec := sendings(t, f.db)
	require.Len(t, rec, 2)
	require.Equal(t, postgres.DigestSent, rec["ref1@cd14.example"].Status)
	require.Equal(t, 1, rec["ref1@cd14.example"].Overdue)
	require.Equal(t, 2, rec["ref1@cd14.example"].DueSoon)
	require.Equal(t, map[domain.TaskKind]int{domain.TaskOrient: 1, domain.TaskSignContract: 2}, rec["ref1@cd14.example"].Kinds)

	// The same day again (a second schedule run, a retry): nothing more.
	res, err = d.SendDigests(context.Background(), workflows.DigestInput{Day: day})
	require.NoError(t, err)
	require.Equal(t, 2, res.Already)
	require.Len(t, box.all(), 2)
}

func TestDigestNothingToSay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.db.Pool.Exec(context.Background(), `UPDATE tasks SET status = 'done', done_at = now()`)
	require.NoError(t, err)
	box := newMailbox(t)
	d := &activities.Digests{Store: f.db, Sender: box.sender(t), PublicURL: "https://p.example"}
	res, err := d.SendDigests(context.Background(), workflows.DigestInput{Day: day})
	require.NoError(t, err)
	require.Equal(t, 0, res.Sent)
	require.Equal(t, 3, res.Empty)
	require.Empty(t, box.all())
	require.Empty(t, sendings(t, f.db))
}

func TestDigestOptOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.db.SetDigestOptOut(ctx, f.ref1, true))
	require.NoError(t, f.db.SetDigestOptOut(ctx, f.optOut, false))
	out, err := f.db.DigestOptOut(ctx, f.ref1)
	require.NoError(t, err)
	require.True(t, out)
	box := newMailbox(t)
	d := &activities.Digests{Store: f.db, Sender: box.sender(t), PublicURL: "https://p.example"}
	_, err = d.SendDigests(ctx, workflows.DigestInput{Day: day})
	require.NoError(t, err)
	var to []string
	for _, m := range box.all() {
		to = append(to, m.To)
	}
	require.ElementsMatch(t, []string{"chef@cd14.example", "ref3@cd14.example"}, to)
}

// crashingStore fails to record the first 'sent': the process died between
// the SMTP server's acceptance and the mark.
type crashingStore struct {
	*postgres.DB
	crashed bool
}

func (s *crashingStore) FinishDigest(ctx context.Context, accountID string, day domain.Date, status, msg string) error {
	if status == postgres.DigestSent && !s.crashed {
		s.crashed = true
		return errors.New("worker killed")
	}
	return s.DB.FinishDigest(ctx, accountID, day, status, msg)
}

func TestDigestNoDuplicateAfterCrashAndRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	box := newMailbox(t)
	store := &crashingStore{DB: f.db}
	d := &activities.Digests{Store: store, Sender: box.sender(t), PublicURL: "https://p.example"}
	_, err := d.SendDigests(context.Background(), workflows.DigestInput{Day: day})
	require.Error(t, err)
	require.Len(t, box.all(), 1, "the first message was accepted before the crash")

	res, err := d.SendDigests(context.Background(), workflows.DigestInput{Day: day}) // Temporal's retry
	require.NoError(t, err)
	require.Equal(t, 1, res.Sent)
	require.Equal(t, 1, res.Already)
	msgs := box.all()
	require.Len(t, msgs, 2, "the retry sends the other digest, never the first again")
	require.NotEqual(t, msgs[0].To, msgs[1].To)

	statuses := map[string]int{}
	for _, r := range sendings(t, f.db) {
		statuses[r.Status]++
	}
	require.Equal(t, map[string]int{postgres.DigestSent: 1, postgres.DigestUncertain: 1}, statuses)
}

func TestDigestRetriedAfterSMTPRefusal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	box := newMailbox(t)
	box.rejects = 1
	d := &activities.Digests{Store: f.db, Sender: box.sender(t), PublicURL: "https://p.example"}
	_, err := d.SendDigests(context.Background(), workflows.DigestInput{Day: day})
	require.ErrorContains(t, err, "1 digests not sent")
	require.Len(t, box.all(), 1)
	var failed string
	for email, r := range sendings(t, f.db) {
		if r.Status == postgres.DigestFailed {
			failed = email
			require.Contains(t, r.Error, "try again later")
		}
	}
	require.NotEmpty(t, failed)

	res, err := d.SendDigests(context.Background(), workflows.DigestInput{Day: day})
	require.NoError(t, err)
	require.Equal(t, 1, res.Sent)
	require.Len(t, box.all(), 2)
	rec := sendings(t, f.db)[failed]
	require.Equal(t, postgres.DigestSent, rec.Status)
	require.Equal(t, 2, rec.Attempts)
}

// A supervisor without a structure oversees every parcours (as on the
// dashboard): the digest counts every référent's tasks, the opted-out
// référent's included, since the opt-out is theirs and not the supervisor's.
func TestSupervisorWithoutStructureGetsEveryTask(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.db.CreateAccount(ctx, postgres.Account{Email: "direction@cd14.example", Name: "Direction", Role: domain.RoleSupervisor})
	require.NoError(t, err)
	recipients, err := f.db.DigestRecipients(ctx)
	require.NoError(t, err)
	var all *postgres.DigestRecipient
	for i := range recipients {
		if recipients[i].Email == "direction@cd14.example" {
			all = &recipients[i]
		}
	}
	require.NotNil(t, all, "a supervisor without a structure receives the digest")
	tasks, err := f.db.DigestTasks(ctx, *all, day, 7)
	require.NoError(t, err)
	parcours := map[string]bool{}
	for _, tk := range tasks {
		parcours[tk.ParcoursID] = true
	}
	require.Len(t, tasks, 4, "ref-1's three tasks within 7 days and ref-3's overdue one")
	require.True(t, parcours[f.p1] && parcours[f.p2])
}
