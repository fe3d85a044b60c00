// Package importer reads the files départements receive about their
// beneficiaries (the CAF/MSA "flux bénéficiaires" XML and CSV lists) and
// applies them through the service: each person once, each household's
// situation, with a report of what was created, updated, left unchanged or
// rejected and why.
//
// Files are read twice, streaming: a first pass checks the whole file (a
// truncated or foreign file is refused before anything is written), the
// second applies it. Both passes hold one household or row at a time.
package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// FluxInfo is what a flux says of itself.
type FluxInfo struct {
	CreatedOn  domain.Date // DTCREAFLUX
	RefDate    domain.Date // DTREF
	Type       string      // TYPEFLUX: M monthly, I infra-monthly
	Households int         // InfosFoyerRSA read
	Declared   int         // NBTOTDOSRSATRANSM in the trailer (-1 if absent)
	Encoding   string      // as declared
}

// Household is one InfosFoyerRSA: the RSA dossier and its people. Err is
// set when the household cannot be used (its line is then reported).
type Household struct {
	Line      int
	Payer     string // CAF or MSA
	Matricule string
	Situation domain.PayerSituation
	Persons   []domain.ImportedPerson
	Skipped   int // people not subject to droits et devoirs with no parcours to end
	Err       error
}

// ErrNotFlux is returned for a file that is not a flux bénéficiaires.
var ErrNotFlux = errors.New("not a flux")

// charsetReader decodes the encodings the paying bodies' files declare
// (docs/cnaf-flux.md §2.1: windows-1252 in every known file).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "windows-1252", "cp1252", "x-cp1252":
		return charmap.Windows1252.NewDecoder().Reader(&byteCheck{r: in, enc: "windows-1252", bad: windows1252Undefined}), nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(&byteCheck{r: in, enc: "ISO-8859-1", bad: c1Control}), nil
	case "iso-8859-15", "iso8859-15", "latin9", "latin-9":
		return charmap.ISO8859_15.NewDecoder().Reader(&byteCheck{r: in, enc: "ISO-8859-15", bad: c1Control}), nil
	case "us-ascii", "ascii":
		return in, nil
	}
	return nil, fmt.Errorf("encodage %q non pris en charge (attendu windows-1252, ISO-8859-1 ou UTF-8)", label)
}

func windows1252Undefined(b byte) bool {
	return b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D
}

func c1Control(b byte) bool { return b >= 0x80 && b <= 0x9F }

// byteCheck refuses a byte that is no character in the declared encoding
// (decoded, it would be a control character), saying where: the flux is then
// refused before anything is written.
type byteCheck struct {
	r         io.Reader
	enc       string
	bad       func(byte) bool
	line, col int
}

func (c *byteCheck) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.line == 0 {
		c.line = 1
	}
	for i := 0; i < n; i++ {
		b := p[i]
		if b == '\n' {
			c.line, c.col = c.line+1, 0
			continue
		}
		c.col++
		if c.bad(b) {
			return i, &byteError{fmt.Sprintf("octet 0x%02X invalide en %s ligne %d, colonne %d (le fichier est-il dans l'encodage qu'il déclare ?)", b, c.enc, c.line, c.col)}
		}
	}
	return n, err
}

// posReader notes where the raw file first holds a byte sequence that is
// not UTF-8 and a control character, so that the decoder's errors say the
// line and column (counted in characters of a UTF-8 file).
type posReader struct {
	r         io.Reader
	line, col int
	carry     []byte
	badUTF8   [2]int // line, column; zero: none
	badByte   byte
	control   [2]int
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if p.badUTF8[0] > 0 && p.control[0] > 0 {
		return n, err
	}
	buf := b[:n]
	if len(p.carry) > 0 {
		buf = append(p.carry, buf...)
		p.carry = nil
	}
	for i := 0; i < len(buf); {
		r, size := rune(buf[i]), 1
		if r >= utf8.RuneSelf {
			if err == nil && !utf8.FullRune(buf[i:]) {
				p.carry = append([]byte(nil), buf[i:]...)
				break
			}
			r, size = utf8.DecodeRune(buf[i:])
		}
		switch {
		case r == '\n':
			p.line, p.col = p.line+1, 0
		default:
			p.col++
			if r == utf8.RuneError && size == 1 && p.badUTF8[0] == 0 {
				p.badUTF8, p.badByte = [2]int{p.line, p.col}, buf[i]
			}
			if r < 0x20 && r != '\t' && r != '\r' && p.control[0] == 0 {
				p.control = [2]int{p.line, p.col}
			}
		}
		i += size
	}
	return n, err
}

type byteError struct{ msg string }

func (e *byteError) Error() string { return e.msg }

// The parts of InfosFoyerRSA a parcours needs (vrsb0801, docs/cnaf-flux.md §2.2).
type xmlFoyer struct {
	Organisme struct {
		FONORG    string `xml:"FONORG"`
		NUMORG    string `xml:"NUMORG"`
		MATRICULE string `xml:"MATRICULE"`
	} `xml:"IdentificationRSA>Organisme"`
	DTDEMRSA  string        `xml:"IdentificationRSA>DemandeRSA>DTDEMRSA"`
	Personnes []xmlPersonne `xml:"Personne"`
	Situation struct {
		Etat     string `xml:"EtatDossierRSA>ETATDOSRSA"`
		SuspDroi []struct {
			Motif string `xml:"MOTISUSDRORSA"`
			Debut string `xml:"DDSUSDRORSA"`
		} `xml:"SuspensionDroit"`
		SuspVers []struct {
			Motif string `xml:"MOTISUSVERSRSA"`
			Debut string `xml:"DDSUSVERSRSA"`
		} `xml:"SuspensionVersement"`
		Fin    []xmlFin `xml:"FinDroit"`
		FinAnt []xmlFin `xml:"FinDroitMoisAnterieur"`
		Refus  []struct {
			Motif string `xml:"MOTIREFURSA"`
			Date  string `xml:"DTREFURSA"`
		} `xml:"Refus"`
	} `xml:"PrestationRSA>SituationDossierRSA"`
}

type xmlFin struct {
	Motif string `xml:"MOTICLORSA"`
	Date  string `xml:"DTCLORSA"`
}

type xmlPersonne struct {
	Identification struct {
		NOM    string `xml:"NOM"`
		NOMNAI string `xml:"NOMNAI"`
		PRENOM string `xml:"PRENOM"`
		DTNAI  string `xml:"DTNAI"`
		NIR    string `xml:"NIR"`
	} `xml:"Identification"`
	DossierCAF struct {
		DDRATDOS string `xml:"DDRATDOS"`
		DFRATDOS string `xml:"DFRATDOS"`
	} `xml:"DossierCAF"`
	Prestations []struct {
		NATPREST string `xml:"NATPREST"`
		ROLEPERS string `xml:"ROLEPERS"`
	} `xml:"Prestations"`
	Droit []struct {
		Top      string `xml:"TOPPERSDRODEVORSA"`
		TopEntre string `xml:"TOPPERSENTDRODEVORSA"`
	} `xml:"MontantCalculDroitRSAPersonne"`
}

type xmlIdentification struct {
	TYPEFLUX   string `xml:"TYPEFLUX"`
	DTCREAFLUX string `xml:"DTCREAFLUX"`
	DTREF      string `xml:"DTREF"`
}

type xmlTransmission struct {
	Total string `xml:"NBTOTDOSRSATRANSM"`
}

// ReadFlux streams a flux bénéficiaires and calls fn with each household in
// file order (fn may be nil, to check a file). A file that is not a
// well-formed, complete flux returns an error whose message is French and
// says where; fn's own error stops the reading and is returned as is.
func ReadFlux(r io.Reader, fn func(Household) error) (FluxInfo, error) {
	info := FluxInfo{Declared: -1}
	// Every text node is cut at its limit as it streams (issue 20): a
	// household with one is rejected, the others read.
	limits, limited := newXMLLimiter(r)
	pos := &posReader{r: limited, line: 1}
	dec := xml.NewDecoder(pos)
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		info.Encoding = label
		return charsetReader(label, in)
	}
	dec.Strict = true
	depth, header, trailer := 0, false, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return info, syntaxError(dec, pos, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if t.Name.Local != "Racine" {
					return info, fmt.Errorf("%w : l'élément racine est <%s>, un flux bénéficiaires CAF/MSA commence par <Racine>", ErrNotFlux, t.Name.Local)
				}
				depth++
				continue
			}
			line, _ := dec.InputPos()
			switch t.Name.Local {
			case "IdentificationFlux":
				var x xmlIdentification
				if err := dec.DecodeElement(&x, &t); err != nil {
					return info, syntaxError(dec, pos, err)
				}
				if err := limits.hardOverflow(dec); err != nil {
					return info, err
				}
				info.Type = strings.TrimSpace(x.TYPEFLUX)
				var err1, err2 error
				info.CreatedOn, err1 = fluxDate(x.DTCREAFLUX, true)
				info.RefDate, err2 = fluxDate(x.DTREF, false)
				if err := errors.Join(err1, err2); err != nil {
					return info, fmt.Errorf("ligne %d : en-tête du flux illisible : %v", line, err)
				}
				header = true
			case "InfosFoyerRSA":
				if !header {
					return info, fmt.Errorf("%w : ligne %d, un foyer précède l'en-tête <IdentificationFlux>", ErrNotFlux, line)
				}
				var x xmlFoyer
				if err := dec.DecodeElement(&x, &t); err != nil {
					return info, syntaxError(dec, pos, err)
				}
				info.Households++
				h := household(line, x, info)
				if o := limits.cut(dec, line); o != nil {
					h.Err, h.Persons = fmt.Errorf("%s (ligne %d) dépasse %d octets, quand un champ de flux en compte au plus 200 : foyer non lu", o.what, o.line, MaxTextBytes), nil
				}
				if fn != nil {
					if err := fn(h); err != nil {
						return info, err
					}
				}
			case "TransmissionFlux":
				var x xmlTransmission
				if err := dec.DecodeElement(&x, &t); err != nil {
					return info, syntaxError(dec, pos, err)
				}
				if err := limits.hardOverflow(dec); err != nil {
					return info, err
				}
				if n, err := strconv.Atoi(strings.TrimSpace(x.Total)); err == nil {
					info.Declared = n
				}
				trailer = true
			default:
				if err := dec.Skip(); err != nil {
					return info, syntaxError(dec, pos, err)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	switch {
	case depth == 0 && !header && info.Households == 0:
		return info, fmt.Errorf("%w : le fichier ne contient aucun élément XML", ErrNotFlux)
	case !header:
		return info, fmt.Errorf("%w : l'en-tête <IdentificationFlux> manque", ErrNotFlux)
	case !trailer:
		return info, fmt.Errorf("le flux est incomplet : la fin <TransmissionFlux> manque (fichier tronqué ?)")
	}
	return info, nil
}

func syntaxError(dec *xml.Decoder, pos *posReader, err error) error {
	line, _ := dec.InputPos()
	var be *byteError
	if errors.As(err, &be) {
		return be
	}
	var le *limitError
	if errors.As(err, &le) {
		return le
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("le flux est tronqué : il s'arrête ligne %d au milieu d'un élément", line)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		switch {
		case se.Msg == "invalid UTF-8" && pos.badUTF8[0] > 0:
			return fmt.Errorf("octet 0x%02X invalide en UTF-8 ligne %d, colonne %d (le fichier est-il dans l'encodage qu'il déclare ?)", pos.badByte, pos.badUTF8[0], pos.badUTF8[1])
		case strings.HasPrefix(se.Msg, "illegal character code ") && pos.control[0] > 0:
			return fmt.Errorf("caractère de contrôle %s interdit ligne %d, colonne %d", strings.TrimPrefix(se.Msg, "illegal character code "), pos.control[0], pos.control[1])
		}
		return fmt.Errorf("XML invalide ligne %d : %s", se.Line, se.Msg)
	}
	return fmt.Errorf("XML illisible vers la ligne %d : %v", line, err)
}

// household turns a decoded InfosFoyerRSA into the people it concerns.
func household(line int, x xmlFoyer, info FluxInfo) Household {
	h := Household{
		Line:      line,
		Payer:     strings.ToUpper(strings.TrimSpace(x.Organisme.FONORG)),
		Matricule: domain.NormalizeMatricule(x.Organisme.MATRICULE),
	}
	fail := func(format string, args ...any) Household {
		h.Err = fmt.Errorf(format, args...)
		h.Persons = nil
		return h
	}
	if err := fluxLengths(x); err != nil {
		return fail("%v", err)
	}
	if h.Payer != "CAF" && h.Payer != "MSA" {
		return fail("organisme payeur inconnu %q (attendu CAF ou MSA)", h.Payer)
	}
	if h.Matricule == "" {
		return fail("le matricule du dossier manque")
	}
	if len(x.Personnes) == 0 {
		return fail("le foyer ne contient aucune personne")
	}
	received := info.CreatedOn
	sit, err := situation(x)
	if err != nil {
		return fail("%v", err)
	}
	h.Situation = sit
	claim, err := fluxDate(x.DTDEMRSA, false)
	if err != nil {
		return fail("date de demande RSA : %v", err)
	}
	for i, xp := range x.Personnes {
		p := domain.ImportedPerson{
			Line:        line,
			NIR:         xp.Identification.NIR,
			LastName:    xp.Identification.NOM,
			FirstName:   xp.Identification.PRENOM,
			Payer:       h.Payer,
			PayerNumber: h.Matricule,
			ReceivedOn:  received,
			Situation:   sit,
		}
		if p.LastName == "" {
			p.LastName = xp.Identification.NOMNAI
		}
		if p.BirthDate, err = fluxDate(xp.Identification.DTNAI, true); err != nil {
			return fail("personne %d : date de naissance : %v", i+1, err)
		}
		for _, pr := range xp.Prestations {
			if strings.TrimSpace(pr.NATPREST) == "RSA" {
				p.Role = strings.TrimSpace(pr.ROLEPERS)
			}
		}
		// No MontantCalculDroitRSAPersonne block (MSA flux): not known to
		// be subject; counted and listed in the report (docs/identity.md).
		p.NoDutyBlock = len(xp.Droit) == 0
		for _, d := range xp.Droit {
			if p.Subject, err = fluxBool(d.Top); err != nil {
				return fail("personne %d : TOPPERSDRODEVORSA : %v", i+1, err)
			}
		}
		attached, err := fluxDate(xp.DossierCAF.DDRATDOS, false)
		if err != nil {
			return fail("personne %d : date de rattachement : %v", i+1, err)
		}
		// The flux has no date of entry into droits et devoirs (docs/cnaf-flux.md
		// §2.4): the latest of the RSA claim and the person's attachment to
		// the dossier, never after the file itself.
		p.EnteredOn = claim
		if attached.After(p.EnteredOn) {
			p.EnteredOn = attached
		}
		if p.EnteredOn.IsZero() || p.EnteredOn.After(received) {
			p.EnteredOn = received
		}
		p.Normalize()
		h.Persons = append(h.Persons, p)
	}
	return h
}

// situation reads ETATDOSRSA and its reason (docs/cnaf-flux.md §2.4). A state
// reached with no reason block has no reason (quirk 8).
func situation(x xmlFoyer) (domain.PayerSituation, error) {
	s := x.Situation
	code := strings.TrimSpace(s.Etat)
	sit := domain.PayerSituation{Code: code}
	var err error
	switch code {
	case "0":
		sit.State = domain.PayerPending
	case "1":
		sit.State = domain.PayerRefused
		if len(s.Refus) > 0 {
			sit.Reason = strings.TrimSpace(s.Refus[0].Motif)
			sit.Since, err = fluxDate(s.Refus[0].Date, false)
		}
	case "2":
		sit.State = domain.PayerOpen
	case "3":
		sit.State = domain.PayerSuspended
		if len(s.SuspDroi) > 0 {
			sit.Reason = strings.TrimSpace(s.SuspDroi[0].Motif)
			sit.Since, err = fluxDate(s.SuspDroi[0].Debut, false)
		}
	case "4":
		sit.State = domain.PayerSuspended
		if len(s.SuspVers) > 0 {
			sit.Reason = strings.TrimSpace(s.SuspVers[0].Motif)
			sit.Since, err = fluxDate(s.SuspVers[0].Debut, false)
		}
	case "5", "6":
		sit.State = domain.PayerClosed
		fins := s.Fin
		if code == "6" && len(s.FinAnt) > 0 {
			fins = s.FinAnt
		}
		if len(fins) > 0 {
			sit.Reason = strings.TrimSpace(fins[0].Motif)
			sit.Since, err = fluxDate(fins[0].Date, false)
		}
	case "":
		return sit, fmt.Errorf("l'état du dossier (ETATDOSRSA) manque")
	default:
		return sit, fmt.Errorf("état du dossier inconnu %q (attendu 0 à 6)", code)
	}
	if err != nil {
		return sit, fmt.Errorf("date de la situation du dossier : %v", err)
	}
	return sit, nil
}

// fluxDate reads an xsd:date (yyyy-mm-dd).
func fluxDate(s string, required bool) (domain.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return domain.Date{}, errors.New("date absente")
		}
		return domain.Date{}, nil
	}
	return domain.ParseDate(s)
}

// fluxBool reads an xsd:boolean: 0, 1, true or false (quirk 10).
func fluxBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "1", "true":
		return true, nil
	case "0", "false", "":
		return false, nil
	}
	return false, fmt.Errorf("booléen invalide %q", s)
}
