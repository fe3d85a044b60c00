package letters_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/letters"
	"github.com/parcours-rsa/parcours/internal/letters/lettertest"
)

func head() domain.Letterhead {
	return domain.Letterhead{Departement: "Département de l'Hérault", Service: "Pôle des solidarités — Direction de l'insertion",
		Address: "1977 avenue des Moulins\n34087 Montpellier Cedex 4", City: "Montpellier",
		SignatoryName: "Élise Carrère", SignatoryTitle: "Pour le Président du conseil départemental et par délégation, la directrice de l'insertion"}
}

func notice() letters.Letter {
	return letters.Letter{Kind: domain.LetterNotice, Number: "2027-000042", DatedOn: domain.NewDate(2027, 2, 28), Head: head(),
		Recipient: "Zoé Lefèvre", Address: "12 rue de l'Aiguillerie\n34000 Montpellier", Body: letters.DefaultBody(domain.LetterNotice),
		Data: letters.Data{Personne: "Zoé Lefèvre", Manquement: letters.Breach(domain.BreachObligationsNotMet, "participer aux ateliers collectifs"),
			SignaleLe: "24/02/2027", SanctionEnvisagee: letters.Sanction(domain.SanctionSuspension, 30, 1), DelaiObservations: 10},
		References: letters.References(domain.LetterNotice)}
}

func TestNoticeReadsBackWithNamesDatesAndReferences(t *testing.T) {
	pdf, err := letters.Render(notice())
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))
	text, err := lettertest.Flat(pdf)
	require.NoError(t, err)
	for _, want := range []string{
		"Département de l'Hérault", "Pôle des solidarités — Direction de l'insertion", "34087 Montpellier Cedex 4",
		"Zoé Lefèvre", "12 rue de l'Aiguillerie", "Fait à Montpellier, le 28/02/2027", "Courrier n° 2027-000042",
		"Objet : Courrier d'information préalable à une sanction",
		"Le 24/02/2027, votre référent a signalé le manquement suivant : obligation du contrat d'engagement non respectée : participer aux ateliers collectifs",
		"une suspension de 30 % du RSA pendant 1 mois", "dans un délai de 10 jours à compter de la réception",
		"Élise Carrère", "article L262-37", "R262-68 et R262-69", "Décret n° 2025-478", "page 1/1",
	} {
		require.Contains(t, text, want)
	}
}

func TestTheSameLetterGivesTheSameBytes(t *testing.T) {
	a, err := letters.Render(notice())
	require.NoError(t, err)
	b, err := letters.Render(notice())
	require.NoError(t, err)
	require.Equal(t, letters.Hash(a), letters.Hash(b))
	other := notice()
	other.DatedOn = domain.NewDate(2027, 3, 1)
	c, err := letters.Render(other)
	require.NoError(t, err)
	require.NotEqual(t, letters.Hash(a), letters.Hash(c))
	require.Len(t, letters.Hash(a), 64)
}

func TestDecisionAndConvocationBodies(t *testing.T) {
	d := notice()
	d.Kind, d.Body, d.References = domain.LetterDecision, letters.DefaultBody(domain.LetterDecision), letters.References(domain.LetterDecision)
	d.Data.Decision, d.Data.DecideeLe = "une suspension de 30 % du RSA pendant 2 mois, du 01/04/2027 au 31/05/2027", "20/03/2027"
	pdf, err := letters.Render(d)
	require.NoError(t, err)
	text, err := lettertest.Flat(pdf)
	require.NoError(t, err)
	require.Contains(t, text, "le Département a décidé le 20/03/2027 de prononcer une suspension de 30 % du RSA pendant 2 mois, du 01/04/2027 au 31/05/2027")
	require.Contains(t, text, "recours administratif préalable obligatoire")
	require.Contains(t, text, "R262-68, R262-68-1 et R262-68-6")

	d.Data.SansSanction = true
	pdf, err = letters.Render(d)
	require.NoError(t, err)
	text, _ = lettertest.Flat(pdf)
	require.Contains(t, text, "de ne pas prononcer de sanction")
	require.NotContains(t, text, "sommes retenues")

	c := notice()
	c.Kind, c.Body, c.References = domain.LetterConvocation, letters.DefaultBody(domain.LetterConvocation), letters.References(domain.LetterConvocation)
	c.Data.Entretien, c.Data.Heure, c.Data.Lieu = "10/03/2027", "14:30", "Maison départementale des solidarités, 5 rue Foch, Montpellier"
	pdf, err = letters.Render(c)
	require.NoError(t, err)
	text, _ = lettertest.Flat(pdf)
	require.Contains(t, text, "Cet entretien aura lieu le 10/03/2027 à 14:30, à l'adresse suivante : Maison départementale des solidarités")
	require.Contains(t, text, "Objet : Convocation à un entretien")
}

func TestEditedBodiesAreCheckedBeforeTheyAreSaved(t *testing.T) {
	require.NoError(t, letters.CheckBody("Madame, Monsieur,\n\n{{.Personne}}, nous envisageons {{.SanctionEnvisagee}}."))
	for body, want := range map[string]string{
		"":                        "vide",
		"Bonjour {{.Personne":     "illisible",
		"Bonjour {{.Nom}}":        "champs possibles",
		"Bonjour 😀":               "ne peut pas être imprimé",
		strings.Repeat("x", 8001): "8 000",
		"{{template \"x\"}}":      "Modèle",
		// Issue 20: a 39-character template ran 36 s.
		"{{range 10000000}}{{.Personne}}{{end}}":      "boucle",
		"{{if .Personne}}{{range 10}}x{{end}}{{end}}": "boucle",
		"{{define \"a\"}}{{template \"a\"}}{{end}}x":  "autres modèles",
	} {
		begin := time.Now()
		err := letters.CheckBody(body)
		require.Error(t, err, body)
		require.Equal(t, "body", domain.ErrorField(err))
		require.Contains(t, domain.ErrorMessage(err), want, body)
		require.Less(t, time.Since(begin), 5*time.Second, "checked within a budget")
	}
}

func TestLongBodyBreaksPagesAndNumbersThem(t *testing.T) {
	l := notice()
	l.Body = strings.Repeat("Un paragraphe assez long pour remplir la page, répété autant qu'il faut pour passer à la suivante.\n\n", 40)
	pdf, err := letters.Render(l)
	require.NoError(t, err)
	text, err := lettertest.Flat(pdf)
	require.NoError(t, err)
	require.Contains(t, text, "page 2/")
	require.Contains(t, text, "Décret n° 2025-478", "the references follow the body, whatever its length")
}
