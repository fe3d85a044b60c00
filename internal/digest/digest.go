// Package digest composes the daily e-mail digest sent to référents and
// supervisors and sends it over SMTP. A digest carries counts, task kinds,
// due dates and links to the dossiers: never a beneficiary's name or NIR.
package digest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// Horizon is how many days ahead a digest looks.
const Horizon = 7

// Message is a composed digest.
type Message struct {
	To      string
	Subject string
	Body    string // text/plain, UTF-8
	Counts  postgres.DigestCounts
}

// Compose writes the digest of tasks for recipient on day; ok is false when
// there is nothing to say.
func Compose(r postgres.DigestRecipient, tasks []postgres.DigestTask, day domain.Date, publicURL string) (m Message, ok bool) {
	return ComposeWith(r, tasks, postgres.CampaignCounts{}, day, publicURL)
}

// ComposeWith is Compose with the 1 January 2027 campaign's counts in the
// recipient's scope (supervisors and the département): while contracts
// remain to sign, a line says how many, with the link to the campaign page.
func ComposeWith(r postgres.DigestRecipient, tasks []postgres.DigestTask, campaign postgres.CampaignCounts, day domain.Date, publicURL string) (m Message, ok bool) {
	withCampaign := campaign.ToSign+campaign.Overdue > 0
	if len(tasks) == 0 && !withCampaign {
		return m, false
	}
	m.To = r.Email
	m.Counts.Kinds = map[domain.TaskKind]int{}
	for _, t := range tasks {
		if t.Overdue {
			m.Counts.Overdue++
		} else {
			m.Counts.DueSoon++
		}
		m.Counts.Kinds[t.Kind]++
	}
	publicURL = strings.TrimSuffix(publicURL, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "Bonjour,\n\nVoici les échéances du %s", day.French())
	if r.Role == domain.RoleSupervisor && r.Structure != "" {
		fmt.Fprintf(&b, " pour la structure %s", r.Structure)
	}
	b.WriteString(" :\n")
	if len(tasks) > 0 {
		fmt.Fprintf(&b, "- %s en retard\n- %s à échéance dans les %d prochains jours\n",
			plural(m.Counts.Overdue, "tâche", "tâches"), plural(m.Counts.DueSoon, "tâche", "tâches"), Horizon)
	}
	if withCampaign {
		fmt.Fprintf(&b, "- %s\n", CampaignLine(campaign, publicURL))
	}
	if len(tasks) == 0 {
		fmt.Fprintf(&b, "\nPour ne plus recevoir ce récapitulatif : %s/compte\n", publicURL)
		m.Body = b.String()
		m.Subject = fmt.Sprintf("Parcours RSA : campagne du 1er janvier 2027, %d contrat(s) à signer, %d en retard (%s)",
			campaign.ToSign, campaign.Overdue, day.French())
		return m, true
	}
	b.WriteString("\nPar type de tâche :\n")
	kinds := make([]domain.TaskKind, 0, len(m.Counts.Kinds))
	for k := range m.Counts.Kinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return KindFr(kinds[i]) < KindFr(kinds[j]) })
	for _, k := range kinds {
		fmt.Fprintf(&b, "- %s : %d\n", KindFr(k), m.Counts.Kinds[k])
	}
	section := func(title string, overdue bool) {
		first := true
		for _, t := range tasks {
			if t.Overdue != overdue {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s :\n", title)
				first = false
			}
			due := "sans date"
			if !t.DueOn.IsZero() {
				due = "dû le " + t.DueOn.French()
			}
			fmt.Fprintf(&b, "- %s, %s : %s/dossiers/%s\n", KindFr(t.Kind), due, publicURL, t.ParcoursID)
		}
	}
	section("En retard", true)
	section("À échéance", false)
	fmt.Fprintf(&b, "\nPour ne plus recevoir ce récapitulatif : %s/compte\n", publicURL)
	m.Body = b.String()
	m.Subject = fmt.Sprintf("Parcours RSA : %s en retard, %s à échéance (%s)",
		strconv.Itoa(m.Counts.Overdue), strconv.Itoa(m.Counts.DueSoon), day.French())
	return m, true
}

// CampaignLine is the digest's line of the 1 January 2027 campaign.
func CampaignLine(c postgres.CampaignCounts, publicURL string) string {
	return fmt.Sprintf("Campagne du 1er janvier 2027 : %s à signer, %d en retard, %d signé(s) : %s/campagne-2027",
		plural(c.ToSign, "contrat", "contrats"), c.Overdue, c.Signed, publicURL)
}

func plural(n int, one, many string) string {
	if n <= 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// KindFr is the French label of a task kind.
func KindFr(k domain.TaskKind) string { return k.French() }

// SMTP is the server digests go through (SMTP_HOST, SMTP_PORT, SMTP_USER,
// SMTP_PASSWORD, SMTP_FROM). STARTTLS is used when the server offers it;
// credentials are only sent over TLS, or to localhost (net/smtp's rule).
type SMTP struct {
	Host     string
	Port     int
	User     string
	Password string
	From     string
	// TLSConfig overrides the STARTTLS configuration (tests).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// ErrRejected wraps an error returned by the server before it accepted the
// message: nothing was delivered, so a retry is safe.
var ErrRejected = errors.New("smtp: message not accepted")

// Send delivers m. An error means the server did not confirm acceptance of
// the message.
func (s SMTP) Send(m Message) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("%w: starttls: %v", ErrRejected, err)
		}
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, s.Host)); err != nil {
			return fmt.Errorf("%w: auth: %v", ErrRejected, err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if _, err := w.Write(s.format(m)); err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if err := w.Close(); err != nil { // the server's answer to the final dot
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	_ = c.Quit() // accepted: an error on QUIT changes nothing
	return nil
}

func (s SMTP) format(m Message) []byte {
	var id [12]byte
	_, _ = rand.Read(id[:])
	domainPart := s.Host
	if at := strings.LastIndexByte(s.From, '@'); at >= 0 {
		domainPart = s.From[at+1:]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", s.From)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), domainPart)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	return []byte(b.String())
}
