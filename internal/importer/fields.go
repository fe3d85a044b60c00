package importer

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Fields a list (CSV or XLSX) can fill, in the order the mapping page, the
// template and the guide show them.
const (
	FieldExternalID = "external_id"
	FieldNIR        = "nir"
	FieldMatricule  = "matricule"
	FieldPayer      = "payer"
	FieldLastName   = "last_name"
	FieldFirstName  = "first_name"
	FieldBirthDate  = "birth_date"
	FieldEnteredOn  = "entered_on"
	FieldReceivedOn = "received_on"
	FieldPhone      = "phone"
	FieldPhone2     = "phone2"
	FieldEmail      = "email"
	FieldRole       = "role"

	// Reprise de l'existant: the person's current situation.
	FieldTrack            = "orientation_track"
	FieldStructure        = "orientation_structure"
	FieldOrientedOn       = "orientation_date"
	FieldReferent         = "referent"
	FieldContractKind     = "contract_kind"
	FieldContractSigned   = "contract_signed_on"
	FieldContractStart    = "contract_starts_on"
	FieldContractEnd      = "contract_ends_on"
	FieldStock            = "stock"
	FieldObstacleHealth   = "obstacle_health"
	FieldObstacleDisabled = "obstacle_disability"
	FieldObstacleHousing  = "obstacle_housing"
	FieldObstacleFamily   = "obstacle_family"
	FieldActionKind       = "action_kind"
	FieldActionStart      = "action_starts_on"
	FieldActionPlannedEnd = "action_planned_end_on"
)

// Requirement of a field in a list.
const (
	Required    = "obligatoire"
	Conditional = "obligatoire dans certains cas"
	Optional    = "facultatif"
)

// FieldInfo describes a field: its French label (also the template's
// header), what it holds, the values accepted, an example, whether it is
// required, and the usual headers of départements' lists.
type FieldInfo struct {
	Field       string
	Label       string
	Description string
	Values      string
	Example     string
	Required    string
	Headers     []string
	Reprise     bool // a column of the reprise de l'existant
}

const yesNo = "oui ou non (aussi : o, n, 1, 0, x ; vide : non)"

// Fields lists every field a list can fill.
var Fields = []FieldInfo{
	{FieldExternalID, "Identifiant du bénéficiaire (département)", "L'identifiant du dossier dans le logiciel du département (IODAS, Solis…).",
		"lettres, chiffres et . _ : - (64 caractères au plus)", "IOD-004512", Conditional,
		[]string{"identifiant", "id", "id iodas", "identifiant departement", "numero dossier departement"}, false},
	{FieldNIR, "NIR", "Le numéro de sécurité sociale de la personne.", "13 ou 15 caractères (avec ou sans la clé)", "2820251108030", Conditional,
		[]string{"nir", "numero securite sociale", "numero de securite sociale", "nir beneficiaire"}, false},
	{FieldMatricule, "Numéro d'allocataire CAF/MSA", "Le numéro d'allocataire (matricule) du foyer.", "7 chiffres pour la CAF (les zéros de fin du flux sont retirés)", "2055990", Conditional,
		[]string{"matricule", "numero allocataire", "numero allocataire caf/msa", "numero allocataire caf", "n° allocataire"}, false},
	{FieldPayer, "Organisme payeur (CAF ou MSA)", "L'organisme qui verse le RSA.", "CAF ou MSA (vide : CAF)", "CAF", Optional,
		[]string{"organisme", "organisme payeur"}, false},
	{FieldLastName, "Nom", "Le nom d'usage de la personne.", "texte", "LEFÈVRE", Required,
		[]string{"nom", "nom responsable dossier", "nom beneficiaire", "nom de naissance"}, false},
	{FieldFirstName, "Prénom", "Le prénom de la personne.", "texte", "Hélène", Required,
		[]string{"prenom", "prenom responsable dossier", "prenom beneficiaire"}, false},
	{FieldBirthDate, "Date de naissance", "Obligatoire seulement quand le numéro d'allocataire est le seul identifiant de la ligne ; une liste sans date de naissance n'efface jamais celle déjà connue.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "05/02/1982", Conditional,
		[]string{"date de naissance", "date naissance", "naissance"}, false},
	{FieldEnteredOn, "Date d'entrée en droits et devoirs", "La date à laquelle la personne est entrée dans les droits et devoirs du RSA. Absente : la date de réception de l'information est utilisée (le rapport le signale).",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "15/02/2026", Optional,
		[]string{"date debut droits - devoirs", "date debut droits et devoirs", "date d'entree en droits et devoirs", "date entree droits et devoirs", "date d'entree"}, false},
	{FieldReceivedOn, "Date de réception de l'information", "La date à laquelle le département a reçu l'information de l'entrée en droits et devoirs ; elle fait courir le délai d'orientation. Absente : la date de réception du fichier.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "01/03/2026", Optional,
		[]string{"date de reception", "date de reception de l'information", "date reception information"}, true},
	{FieldPhone, "Téléphone", "Un numéro de téléphone (un numéro mal formé est ignoré, avec un avertissement).", "10 chiffres, ou +33…", "06 12 34 56 78", Optional,
		[]string{"numero telephone dossier", "telephone", "numero de telephone", "tel"}, false},
	{FieldPhone2, "Téléphone 2", "Un second numéro (un mobile est préféré).", "10 chiffres, ou +33…", "01 42 00 00 00", Optional,
		[]string{"numero telephone 2 dossier", "telephone 2"}, false},
	{FieldEmail, "Adresse électronique", "L'adresse électronique de la personne (une adresse mal formée est ignorée, avec un avertissement).", "adresse électronique", "helene.lefevre@exemple.fr", Optional,
		[]string{"adresse electronique dossier", "email", "e-mail", "courriel", "adresse electronique"}, false},
	{FieldRole, "Rôle dans le foyer", "Le rôle de la personne dans le foyer allocataire.", "demandeur, conjoint, enfant (ou DEM, CJT, ENF)", "demandeur", Optional,
		[]string{"role personne", "role"}, false},

	{FieldTrack, "Parcours d'orientation", "Le parcours décidé à l'orientation en vigueur. Vide : la personne attend son orientation.",
		"professionnel, socio-professionnel, social", "socio-professionnel", Optional,
		[]string{"type de parcours", "parcours d'orientation", "parcours oriente"}, true},
	{FieldStructure, "Structure d'accompagnement", "L'organisme référent désigné par l'orientation.", "texte", "CCAS de Valence", Conditional,
		[]string{"structure referente", "organisme referent", "structure d'accompagnement"}, true},
	{FieldOrientedOn, "Date de la décision d'orientation", "La date de la décision d'orientation en vigueur ; obligatoire quand un parcours est donné.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "12/04/2025", Conditional,
		[]string{"date d'orientation", "date de decision d'orientation", "date orientation"}, true},
	{FieldReferent, "Référent unique", "L'identifiant du référent unique, s'il est connu.", "identifiant du référent", "ref-42", Optional,
		[]string{"referent", "referent unique", "identifiant referent"}, true},
	{FieldContractKind, "Type de contrat", "Le contrat en vigueur (ou le dernier signé). Vide : pas de contrat.",
		"CER (contrat d'engagements réciproques), PPAE (projet personnalisé d'accès à l'emploi), contrat d'engagement (CE)", "CER", Optional,
		[]string{"type de contrat", "nature du contrat"}, true},
	{FieldContractSigned, "Date de signature du contrat", "La date de signature du contrat (vide : sa date de début).",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "02/05/2025", Optional,
		[]string{"date de signature", "date signature contrat", "date de signature du contrat"}, true},
	{FieldContractStart, "Date de début du contrat", "La date de début du contrat ; obligatoire quand un contrat est donné.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "02/05/2025", Conditional,
		[]string{"date de debut du contrat", "debut contrat", "date debut contrat"}, true},
	{FieldContractEnd, "Date de fin du contrat", "La date de fin prévue du contrat ; obligatoire quand un contrat est donné.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "01/05/2026", Conditional,
		[]string{"date de fin du contrat", "fin contrat", "date fin contrat"}, true},
	{FieldStock, "Accompagné au 01/01/2025", "La personne était accompagnée au 1er janvier 2025 : un contrat selon la loi de 2025 est dû au 1er janvier 2027.",
		yesNo, "oui", Optional,
		[]string{"accompagne au 01/01/2025", "accompagne au 1er janvier 2025"}, true},
	{FieldObstacleHealth, "Frein : santé", "Un frein de santé (L262-31).", yesNo, "non", Optional,
		[]string{"frein sante"}, true},
	{FieldObstacleDisabled, "Frein : handicap", "Une situation de handicap (L262-31).", yesNo, "non", Optional,
		[]string{"frein handicap"}, true},
	{FieldObstacleHousing, "Frein : logement", "Un frein de logement (L262-31).", yesNo, "oui", Optional,
		[]string{"frein logement"}, true},
	{FieldObstacleFamily, "Frein : situation familiale", "Une contrainte familiale (L262-31).", yesNo, "non", Optional,
		[]string{"frein famille", "frein situation familiale"}, true},
	{FieldActionKind, "Action en cours", "Le type de l'action en cours, s'il y en a une.",
		strings.Join(actionValues(), ", "), "formation", Optional,
		[]string{"type d'action", "action en cours"}, true},
	{FieldActionStart, "Date de début de l'action", "La date de début de l'action en cours ; obligatoire quand une action est donnée.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "01/09/2026", Conditional,
		[]string{"debut action", "date debut action", "date de debut de l'action"}, true},
	{FieldActionPlannedEnd, "Date de fin prévue de l'action", "La date de fin prévue de l'action en cours.",
		"date JJ/MM/AAAA, AAAA-MM-JJ, ou date Excel", "28/02/2027", Optional,
		[]string{"fin prevue action", "date fin action", "date de fin prevue de l'action"}, true},
}

// FieldLabels are the French names of the fields (Fields, for the pages
// that need only the names).
var FieldLabels = Fields

// requiredFields must be named by a mapping and present in a list's header
// (an identifier is checked per row).
var requiredFields = []string{FieldLastName, FieldFirstName}

// identifierFields: a list needs at least one.
var identifierFields = []string{FieldExternalID, FieldNIR, FieldMatricule}

// Mapping gives, for each field, the column headers that may hold it (the
// first present wins). Headers are compared normalised (NormalizeHeader).
type Mapping map[string][]string

// DefaultMapping reads the CNAF contacts file (docs/cnaf-flux.md §3.1), the
// usual names of départements' lists and the template's headers.
func DefaultMapping() Mapping {
	m := Mapping{}
	for _, f := range Fields {
		m[f.Field] = append(slices0(f.Headers), f.Label)
	}
	return m
}

func slices0(s []string) []string { return append([]string(nil), s...) }

// withLabels completes a stored mapping with the fields it does not name
// (a mapping saved before the reprise columns existed) and the template's
// labels, so that the template always reads.
func (m Mapping) withLabels() Mapping {
	out := Mapping{}
	for f, names := range m {
		out[f] = slices0(names)
	}
	for _, f := range Fields {
		if _, ok := m[f.Field]; !ok {
			out[f.Field] = slices0(f.Headers)
		}
		out[f.Field] = append(out[f.Field], f.Label)
	}
	return out
}

// Validate checks a mapping: known fields, and the required ones named.
func (m Mapping) Validate() error {
	known := map[string]bool{}
	for _, f := range Fields {
		known[f.Field] = true
	}
	for f, names := range m {
		if !known[f] {
			return domain.FieldError("mapping", "Champ inconnu %q dans la correspondance des colonnes.", f)
		}
		for _, n := range names {
			if NormalizeHeader(n) == "" {
				return domain.FieldError(f, "Un nom de colonne vide est donné pour « %s ».", labelOf(f))
			}
		}
	}
	for _, f := range requiredFields {
		if len(m[f]) == 0 {
			return domain.FieldError(f, "La colonne « %s » est obligatoire.", labelOf(f))
		}
	}
	if len(m[FieldExternalID]) == 0 && len(m[FieldNIR]) == 0 && len(m[FieldMatricule]) == 0 {
		return domain.FieldError(FieldExternalID, "Il faut au moins une colonne d'identification : identifiant, NIR ou numéro d'allocataire.")
	}
	return nil
}

func labelOf(field string) string {
	for _, f := range Fields {
		if f.Field == field {
			return f.Label
		}
	}
	return field
}

// NormalizeHeader compares headers as rdv-insertion does (docs/cnaf-flux.md §3):
// line breaks and runs of spaces become one space, apostrophes hyphens,
// lower case without accents, "n°" becomes "numero", spaces hyphens. The
// marks of a required column (trailing "*") and spaces around are dropped.
func NormalizeHeader(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSpace(strings.TrimRight(s, "* "))
	s = strings.NewReplacer("'", "-", "’", "-").Replace(s)
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "n°", "numero")
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), " ", "-")
}
