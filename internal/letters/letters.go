// Package letters produces the PDF letters of the sanction procedure: the
// notice of the facts and the planned sanction (L262-37 III), the
// convocation to a hearing and the notification of the decision. The
// département edits its letterhead and the body of each letter (a Go
// text/template over Data); the legal references are the service's and
// always printed. The same inputs give the same bytes, so a stored letter's
// SHA-256 can be checked by producing it again.
package letters

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Data is what a body template may print; field names are French, for the
// département's editors ({{.Personne}}, {{.SanctionEnvisagee}}...).
type Data struct {
	Personne          string // "Prénom Nom"
	Numero            string // the letter's number
	Date              string // "12/03/2026"
	Departement       string
	Manquement        string // the breach, in words
	SignaleLe         string
	SanctionEnvisagee string // "une suspension de 30 % du RSA pendant 1 mois"
	DelaiObservations int    // days from receipt (10 since June 2025)
	Entretien         string // appointment date
	Heure             string
	Lieu              string
	Decision          string // "une suspension de 30 % du RSA pendant 2 mois, du 01/10/2026 au 30/11/2026"
	DecideeLe         string
	SansSanction      bool
}

// Letter is everything one PDF is made of.
type Letter struct {
	Kind       domain.LetterKind
	Number     string
	DatedOn    domain.Date
	Head       domain.Letterhead
	Recipient  string // name
	Address    string // lines
	Body       string // the template
	Data       Data
	References []string
}

// DefaultBody is the body of each kind until the département edits it.
func DefaultBody(k domain.LetterKind) string {
	switch k {
	case domain.LetterNotice:
		return `Madame, Monsieur,

Vous êtes bénéficiaire du revenu de solidarité active et soumis(e) aux droits et devoirs qui s'y attachent. Le {{.SignaleLe}}, votre référent a signalé le manquement suivant : {{.Manquement}}.

Le Département envisage de prononcer à votre encontre {{.SanctionEnvisagee}}.

Avant toute décision, vous pouvez présenter vos observations par écrit, ou demander à être entendu(e), en étant assisté(e) de la personne de votre choix, dans un délai de {{.DelaiObservations}} jours à compter de la réception de ce courrier. Si un motif légitime (santé, garde d'enfant, force majeure...) explique ce manquement, faites-le nous savoir dans le même délai.

Si vous vous engagez de nouveau dans votre parcours d'ici là, aucune sanction ne sera prononcée.

Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.`
	case domain.LetterConvocation:
		return `Madame, Monsieur,

À la suite du courrier d'information qui vous a été adressé, vous êtes invité(e) à un entretien afin de présenter vos observations avant toute décision.

Cet entretien aura lieu le {{.Entretien}} à {{.Heure}}, à l'adresse suivante : {{.Lieu}}.

Vous pouvez vous faire assister de la personne de votre choix. Si vous ne pouvez pas venir, merci de nous prévenir au plus tôt ; vous pouvez aussi nous adresser vos observations par écrit.

Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.`
	case domain.LetterDecision:
		return `Madame, Monsieur,

{{if .SansSanction}}Après examen de votre situation, le Département a décidé le {{.DecideeLe}} de ne pas prononcer de sanction à la suite du manquement signalé ({{.Manquement}}).{{else}}Après examen de votre situation et des observations éventuellement présentées, le Département a décidé le {{.DecideeLe}} de prononcer {{.Decision}}, à la suite du manquement suivant : {{.Manquement}}.

Si vous respectez de nouveau vos obligations avant le terme de cette sanction, elle prend fin et les sommes retenues vous sont reversées. Prenez contact avec votre référent.{{end}}

Vous pouvez contester cette décision par un recours administratif préalable obligatoire, adressé au Président du conseil départemental dans un délai de deux mois à compter de la notification du présent courrier. Ce recours est un préalable obligatoire à tout recours devant le tribunal administratif.

Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.`
	}
	return ""
}

// References are the legal references printed on each kind (domain.md,
// "Escalation to sanction"); the département cannot remove them.
func References(k domain.LetterKind) []string {
	base := "Code de l'action sociale et des familles, article L262-37 (I : manquements ; III : information préalable et droit d'être entendu)"
	switch k {
	case domain.LetterNotice:
		return []string{base, "Articles R262-68 et R262-69 du même code", "Décret n° 2025-478 : délai de 10 jours à compter de la réception pour présenter des observations"}
	case domain.LetterConvocation:
		return []string{base, "Décret n° 2025-478"}
	case domain.LetterDecision:
		return []string{base, "Articles R262-68, R262-68-1 et R262-68-6 du même code (barème de suspension-remobilisation)",
			"Décret n° 2025-478", "Recours administratif préalable obligatoire auprès du Président du conseil départemental : deux mois"}
	}
	return nil
}

// sample is the data a template is checked against before it is saved.
var sample = Data{Personne: "Camille Exemple", Numero: "2026-000001", Date: "02/12/2026", Departement: "Département", Manquement: "obligation du contrat non respectée : ateliers",
	SignaleLe: "01/12/2026", SanctionEnvisagee: "une suspension de 30 % du RSA pendant 1 mois", DelaiObservations: 10,
	Entretien: "15/12/2026", Heure: "14:30", Lieu: "Maison départementale", Decision: "une suspension de 30 % du RSA pendant 1 mois", DecideeLe: "20/12/2026"}

// CheckBody says whether a body template can be saved: it parses, prints
// only known fields, and every character can be printed.
func CheckBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return domain.FieldError("body", "Le texte du courrier est vide.")
	}
	if len(body) > 8000 {
		return domain.FieldError("body", "Le texte du courrier dépasse 8 000 caractères.")
	}
	if _, err := expand(body, sample); err != nil {
		return err
	}
	return printable("body", body)
}

func expand(body string, d Data) (string, error) {
	t, err := template.New("body").Option("missingkey=error").Parse(body)
	if err != nil {
		return "", domain.FieldError("body", "Modèle illisible : %s", strings.TrimPrefix(err.Error(), "template: body:"))
	}
	if err := bounded(t); err != nil {
		return "", err
	}
	b := &cappedWriter{limit: maxLetterBytes}
	if err := t.Execute(b, d); errors.Is(err, errTooLong) {
		return "", domain.FieldError("body", "Le courrier produit dépasse %d Ko : raccourcissez le modèle.", maxLetterBytes/1024)
	} else if err != nil {
		return "", domain.FieldError("body", "Modèle inutilisable : %s (champs possibles : {{.Personne}}, {{.Numero}}, {{.Date}}, {{.Manquement}}, {{.SignaleLe}}, {{.SanctionEnvisagee}}, {{.DelaiObservations}}, {{.Entretien}}, {{.Heure}}, {{.Lieu}}, {{.Decision}}, {{.DecideeLe}}, {{.SansSanction}}).",
			strings.TrimPrefix(err.Error(), "template: body:"))
	}
	return b.String(), nil
}

// A letter's body prints at most this much (issue 20: a 39-character
// template, {{range 10000000}}…, ran 36 s).
const maxLetterBytes = 64 * 1024

var errTooLong = errors.New("letter too long")

type cappedWriter struct {
	strings.Builder
	limit int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.limit {
		return 0, errTooLong
	}
	return w.Builder.Write(p)
}

// bounded refuses what may run without end or print without bound: loops
// ({{range}}, {{break}}, {{continue}}) and templates calling templates
// ({{define}}, {{template}}, {{block}}). A letter prints fields; it needs
// none of them.
func bounded(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return domain.FieldError("body", "Modèle refusé : un courrier ne peut pas définir d'autres modèles ({{define}}, {{block}}).")
	}
	var walk func(n parse.Node) error
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.RangeNode, *parse.BreakNode, *parse.ContinueNode:
			return domain.FieldError("body", "Modèle refusé : un courrier ne peut pas contenir de boucle ({{range}}).")
		case *parse.TemplateNode:
			return domain.FieldError("body", "Modèle refusé : un courrier ne peut pas appeler un autre modèle ({{template}}).")
		case *parse.IfNode:
			return walkBranch(walk, &n.BranchNode)
		case *parse.WithNode:
			return walkBranch(walk, &n.BranchNode)
		}
		return nil
	}
	return walk(t.Tree.Root)
}

func walkBranch(walk func(parse.Node) error, b *parse.BranchNode) error {
	if err := walk(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return walk(b.ElseList)
	}
	return nil
}

// CheckText says whether a field typed for a letter can be printed.
func CheckText(field, s string) error { return printable(field, s) }

// printable refuses characters the PDF's fonts (Windows-1252) cannot show.
func printable(field, s string) error {
	enc := charmap.Windows1252.NewEncoder()
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			continue
		}
		if _, err := enc.String(string(r)); err != nil {
			return domain.FieldError(field, "Le caractère %q ne peut pas être imprimé dans le courrier.", r)
		}
	}
	return nil
}

// Render produces the PDF.
func Render(l Letter) ([]byte, error) {
	body, err := expand(l.Body, l.Data)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"body", body}, {"address", l.Address}, {"recipient", l.Recipient},
		{"letterhead", l.Head.Departement + l.Head.Service + l.Head.Address + l.Head.City + l.Head.SignatoryName + l.Head.SignatoryTitle}} {
		if err := printable(f.name, f.v); err != nil {
			return nil, err
		}
	}
	at := l.DatedOn.Time().Add(9 * time.Hour) // fixed: the same letter gives the same bytes
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreationDate(at)
	p.SetModificationDate(at)
	p.SetCatalogSort(true)
	p.SetCompression(true)
	p.SetProducer("parcours", true)
	p.SetCreator("parcours", true)
	tr := p.UnicodeTranslatorFromDescriptor("") // cp1252
	p.SetTitle(tr(l.Kind.French()+" n° "+l.Number), false)
	p.SetAuthor(tr(l.Head.Departement), false)
	p.SetMargins(20, 18, 20)
	p.SetAutoPageBreak(true, 22)
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(func() {
		p.SetY(-15)
		p.SetFont("Helvetica", "", 8)
		p.CellFormat(0, 5, tr(fmt.Sprintf("%s — courrier n° %s — page %d/{nb}", l.Head.Departement, l.Number, p.PageNo())), "", 0, "C", false, 0, "")
	})
	p.AddPage()

	// Letterhead, left.
	p.SetFont("Helvetica", "B", 12)
	p.MultiCell(90, 5.5, tr(l.Head.Departement), "", "L", false)
	p.SetFont("Helvetica", "", 9.5)
	if l.Head.Service != "" {
		p.MultiCell(90, 4.5, tr(l.Head.Service), "", "L", false)
	}
	p.MultiCell(90, 4.5, tr(lines(l.Head.Address)), "", "L", false)
	headBottom := p.GetY()

	// Recipient, right.
	p.SetXY(115, 45)
	p.SetFont("Helvetica", "", 11)
	p.MultiCell(75, 5.5, tr(l.Recipient+"\n"+lines(l.Address)), "", "L", false)
	y := max(p.GetY(), headBottom) + 10

	p.SetXY(115, y)
	p.SetFont("Helvetica", "", 10.5)
	p.MultiCell(75, 5, tr(fmt.Sprintf("Fait à %s, le %s", l.Head.City, l.DatedOn.French())), "", "L", false)
	p.SetY(p.GetY() + 6)
	p.SetFont("Helvetica", "", 10)
	p.MultiCell(0, 5, tr("Courrier n° "+l.Number), "", "L", false)
	p.SetFont("Helvetica", "B", 11)
	p.MultiCell(0, 6, tr("Objet : "+l.Kind.French()), "", "L", false)
	p.Ln(4)

	p.SetFont("Helvetica", "", 11)
	for _, para := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		if para = strings.TrimSpace(para); para != "" {
			p.MultiCell(0, 5.5, tr(para), "", "J", false)
			p.Ln(3)
		}
	}

	// Signature.
	p.Ln(4)
	p.SetX(110)
	p.SetFont("Helvetica", "", 10.5)
	p.MultiCell(80, 5, tr(l.Head.SignatoryTitle), "", "L", false)
	p.SetX(110)
	p.SetFont("Helvetica", "B", 10.5)
	p.MultiCell(80, 5, tr(l.Head.SignatoryName), "", "L", false)

	// Legal references.
	p.Ln(8)
	p.SetFont("Helvetica", "B", 9)
	p.MultiCell(0, 4.5, tr("Références"), "", "L", false)
	p.SetFont("Helvetica", "", 9)
	for _, ref := range l.References {
		p.MultiCell(0, 4.5, tr("• "+ref), "", "L", false)
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("letter %s: %w", l.Number, err)
	}
	return b.Bytes(), nil
}

func lines(s string) string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Hash is the hex SHA-256 of a PDF.
func Hash(pdf []byte) string {
	h := sha256.Sum256(pdf)
	return hex.EncodeToString(h[:])
}

// Sanction says a sanction in words: "une suspension de 30 % du RSA pendant 2 mois".
func Sanction(kind domain.SanctionKind, percent, months int) string {
	what := "une suspension"
	if kind == domain.SanctionSuppression {
		what = "une suppression"
	}
	return fmt.Sprintf("%s de %d %% du RSA pendant %d mois", what, percent, months)
}

// Breach says a breach in words.
func Breach(b domain.BreachKind, obligation string) string {
	if b == domain.BreachObligationsNotMet {
		return "obligation du contrat d'engagement non respectée : " + obligation
	}
	return "refus d'élaborer ou d'actualiser le contrat d'engagement"
}
