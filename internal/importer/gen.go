package importer

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// GenHousehold is one household of a generated flux.
type GenHousehold struct {
	Matricule string // 15 digits, as in the flux
	State     string // ETATDOSRSA
	Reason    string // suspension or closure reason for states 1, 3–6
	Since     domain.Date
	Claim     domain.Date // DTDEMRSA
	Persons   []GenPerson
}

// GenPerson is one person of a generated household.
type GenPerson struct {
	NIR       string // 13 or 15 characters, or "" for none
	LastName  string
	FirstName string
	BirthDate domain.Date
	Role      string // DEM, CJT, ENF
	Subject   *bool  // TOPPERSDRODEVORSA; nil: no MontantCalculDroitRSAPersonne block
	Attached  domain.Date
}

// GenFlux describes a whole flux file.
type GenFlux struct {
	Encoding   string // declared: windows-1252 (default), ISO-8859-1 or UTF-8
	CreatedOn  domain.Date
	Payer      string // CAF (default) or MSA
	Declared   int    // trailer count; -1: the number of households
	Households []GenHousehold
}

// WriteFlux writes a flux bénéficiaires in the shape of the CNAF fixtures
// (docs/cnaf-flux.md §2), encoded as declared. Tests and `make bench` use it.
func WriteFlux(w io.Writer, g GenFlux) error {
	enc := g.Encoding
	if enc == "" {
		enc = "windows-1252"
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = bw
	switch strings.ToLower(enc) {
	case "windows-1252":
		out = charmap.Windows1252.NewEncoder().Writer(bw)
	case "iso-8859-1":
		out = charmap.ISO8859_1.NewEncoder().Writer(bw)
	}
	payer := g.Payer
	if payer == "" {
		payer = "CAF"
	}
	declared := g.Declared
	if declared < 0 {
		declared = len(g.Households)
	}
	p := func(format string, args ...any) { fmt.Fprintf(out, format, args...) }
	p("<?xml version=\"1.0\" encoding=\"%s\"?>\n", enc)
	p("<Racine xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"vrsb0801.xsd\">\n")
	p("\t<IdentificationFlux>\n\t\t<APPLIEME>CRI</APPLIEME>\n\t\t<NUMVERSIONAPPLIEME>2.05</NUMVERSIONAPPLIEME>\n\t\t<TYPEFLUX>I</TYPEFLUX>\n\t\t<NATFLUX>D</NATFLUX>\n")
	p("\t\t<DTCREAFLUX>%s</DTCREAFLUX>\n\t\t<HEUCREAFLUX>01:18:36.0000</HEUCREAFLUX>\n\t\t<DTREF>%s</DTREF>\n\t</IdentificationFlux>\n", g.CreatedOn, g.CreatedOn)
	for _, h := range g.Households {
		p("\t<InfosFoyerRSA>\n\t\t<IdentificationRSA>\n\t\t\t<Organisme>\n\t\t\t\t<FONORG>%s</FONORG>\n\t\t\t\t<NUMORG>521</NUMORG>\n\t\t\t\t<MATRICULE>%s</MATRICULE>\n\t\t\t</Organisme>\n", payer, h.Matricule)
		p("\t\t\t<Partenaire>\n\t\t\t\t<TYPEPARTE>CG </TYPEPARTE>\n\t\t\t\t<IDEPARTE>052</IDEPARTE>\n\t\t\t</Partenaire>\n")
		p("\t\t\t<DemandeRSA>\n\t\t\t\t<DTDEMRSA>%s</DTDEMRSA>\n\t\t\t\t<NUMDEMRSA>01024041052</NUMDEMRSA>\n\t\t\t</DemandeRSA>\n\t\t</IdentificationRSA>\n", h.Claim)
		for _, x := range h.Persons {
			p("\t\t<Personne>\n\t\t\t<Identification>\n\t\t\t\t<QUAL>MME</QUAL>\n\t\t\t\t<NOM>%s</NOM>\n\t\t\t\t<NOMNAI>%s</NOMNAI>\n\t\t\t\t<PRENOM>%s</PRENOM>\n",
				xmlText(x.LastName), xmlText(x.LastName), xmlText(x.FirstName))
			p("\t\t\t\t<NOMCOMNAI>CHAUMONT</NOMCOMNAI>\n\t\t\t\t<DTNAI>%s</DTNAI>\n\t\t\t\t<TYPEDTNAI>N</TYPEDTNAI>\n", x.BirthDate)
			if x.NIR != "" {
				p("\t\t\t\t<NIR>%s</NIR>\n", x.NIR)
			}
			p("\t\t\t\t<SEXE>2</SEXE>\n\t\t\t</Identification>\n")
			p("\t\t\t<DossierCAF>\n\t\t\t\t<TOPRESPDOS>0</TOPRESPDOS>\n\t\t\t\t<DDRATDOS>%s</DDRATDOS>\n\t\t\t</DossierCAF>\n", x.Attached)
			// The PFA block comes first, as in the fixtures (docs/cnaf-flux.md §2.4).
			p("\t\t\t<Prestations>\n\t\t\t\t<NATPREST>PFA</NATPREST>\n\t\t\t\t<ROLEPERS>CJT</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n")
			p("\t\t\t<Prestations>\n\t\t\t\t<NATPREST>RSA</NATPREST>\n\t\t\t\t<ROLEPERS>%s</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n", x.Role)
			if x.Subject != nil {
				top := "0"
				if *x.Subject {
					top = "1"
				}
				p("\t\t\t<MontantCalculDroitRSAPersonne>\n\t\t\t\t<TOPPERSDRODEVORSA>%s</TOPPERSDRODEVORSA>\n\t\t\t</MontantCalculDroitRSAPersonne>\n", top)
			}
			p("\t\t</Personne>\n")
		}
		p("\t\t<DonneesAdministratives>\n\t\t\t<SituationFamille>\n\t\t\t\t<SITFAM>CEL</SITFAM>\n\t\t\t\t<DDSITFAM>2010-01-01</DDSITFAM>\n\t\t\t</SituationFamille>\n\t\t</DonneesAdministratives>\n")
		p("\t\t<PrestationRSA>\n\t\t\t<SituationDossierRSA>\n\t\t\t\t<EtatDossierRSA>\n\t\t\t\t\t<ETATDOSRSA>%s</ETATDOSRSA>\n\t\t\t\t</EtatDossierRSA>\n", h.State)
		switch h.State {
		case "1":
			p("\t\t\t\t<Refus>\n\t\t\t\t\t<DTREFURSA>%s</DTREFURSA>\n\t\t\t\t\t<MOTIREFURSA>%s</MOTIREFURSA>\n\t\t\t\t</Refus>\n", h.Since, h.Reason)
		case "3":
			p("\t\t\t\t<SuspensionDroit>\n\t\t\t\t\t<MOTISUSDRORSA>%s</MOTISUSDRORSA>\n\t\t\t\t\t<DDSUSDRORSA>%s</DDSUSDRORSA>\n\t\t\t\t</SuspensionDroit>\n", h.Reason, h.Since)
		case "4":
			p("\t\t\t\t<SuspensionVersement>\n\t\t\t\t\t<MOTISUSVERSRSA>%s</MOTISUSVERSRSA>\n\t\t\t\t\t<DDSUSVERSRSA>%s</DDSUSVERSRSA>\n\t\t\t\t</SuspensionVersement>\n", h.Reason, h.Since)
		case "5":
			p("\t\t\t\t<FinDroit>\n\t\t\t\t\t<MOTICLORSA>%s</MOTICLORSA>\n\t\t\t\t\t<DTCLORSA>%s</DTCLORSA>\n\t\t\t\t</FinDroit>\n", h.Reason, h.Since)
		case "6":
			p("\t\t\t\t<FinDroitMoisAnterieur>\n\t\t\t\t\t<MOTICLORSA>%s</MOTICLORSA>\n\t\t\t\t\t<DTCLORSA>%s</DTCLORSA>\n\t\t\t\t</FinDroitMoisAnterieur>\n", h.Reason, h.Since)
		}
		p("\t\t\t</SituationDossierRSA>\n\t\t\t<DetailDroitRSA>\n\t\t\t\t<TroncCommunDroitRSA>\n\t\t\t\t\t<TOPSANSDOMFIXE>0</TOPSANSDOMFIXE>\n\t\t\t\t\t<ORIDEMRSA>DEM</ORIDEMRSA>\n\t\t\t\t</TroncCommunDroitRSA>\n\t\t\t</DetailDroitRSA>\n\t\t</PrestationRSA>\n\t</InfosFoyerRSA>\n")
	}
	p("\t<TransmissionFlux>\n\t\t<NBTOTDOSRSATRANSM>%08d</NBTOTDOSRSATRANSM>\n\t\t<NBTOTDOSRSATRANSMANO>00000000</NBTOTDOSRSATRANSMANO>\n\t</TransmissionFlux>\n</Racine>\n", declared)
	if c, ok := out.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var (
	genLastNames  = []string{"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT", "LEFÈVRE", "GARÇON", "MÉNARD", "NOËL"}
	genFirstNames = []string{"MARIE", "JEAN", "LÉA", "HÉLÈNE", "FRANÇOIS", "CHLOÉ", "JÉRÔME", "INÈS", "NATHAN", "ZOÉ", "ANAÏS", "LOUIS"}
)

// Synthetic builds n households of one subject claimant each (every tenth
// with a partner not subject), open and paid, entered recently before on,
// with valid 15-character NIRs unique for each seed and index.
func Synthetic(n int, seed uint64, on domain.Date) GenFlux {
	r := rand.New(rand.NewPCG(seed, 0x70617263))
	yes, no := true, false
	g := GenFlux{CreatedOn: on, Declared: -1, Households: make([]GenHousehold, 0, n)}
	for i := range n {
		claim := on.AddDays(-1 - r.IntN(20))
		h := GenHousehold{
			Matricule: fmt.Sprintf("%07d00000000", (seed*1_000_003+uint64(i))%10_000_000),
			State:     "2", Claim: claim,
		}
		birth := domain.NewDate(1960+r.IntN(45), time.Month(1+r.IntN(12)), 1+r.IntN(28))
		h.Persons = append(h.Persons, GenPerson{
			NIR: SyntheticNIR(seed, i, 0), LastName: genLastNames[r.IntN(len(genLastNames))],
			FirstName: genFirstNames[r.IntN(len(genFirstNames))], BirthDate: birth, Role: "DEM", Subject: &yes, Attached: claim,
		})
		if i%10 == 9 {
			h.Persons = append(h.Persons, GenPerson{
				NIR: SyntheticNIR(seed, i, 1), LastName: h.Persons[0].LastName,
				FirstName: genFirstNames[r.IntN(len(genFirstNames))], BirthDate: birth.AddDays(400), Role: "CJT", Subject: &no, Attached: claim,
			})
		}
		g.Households = append(g.Households, h)
	}
	return g
}

// SyntheticNIR is a valid 15-character NIR, unique per (seed, i, k).
func SyntheticNIR(seed uint64, i, k int) string {
	serial := (seed*7_919 + uint64(i)*2 + uint64(k)) % 100_000_000
	body := fmt.Sprintf("%d%02d%02d%08d", 1+k%2, 80+int(serial%20), 1+int(serial%12), serial)
	var n uint64
	fmt.Sscan(body, &n)
	return fmt.Sprintf("%s%02d", body, domain.NIRKey(n))
}
