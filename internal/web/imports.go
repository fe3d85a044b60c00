package web

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/importer"
)

func (h *Handler) importer() *importer.Importer {
	if h.Importer != nil {
		return h.Importer
	}
	return &importer.Importer{Service: h.Service, Logger: h.Logger}
}

// imports lists the latest imports, with the upload form.
func (h *Handler) imports(w http.ResponseWriter, r *http.Request) {
	h.showImports(w, r, http.StatusOK, "")
}

func (h *Handler) showImports(w http.ResponseWriter, r *http.Request, status int, problem string) {
	a, csrf := from(r.Context())
	list, err := h.Service.Imports(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	conflicts, err := h.Service.CountIdentityConflicts(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, status, "imports", page{Title: "Imports", Nav: "imports", Actor: a, CSRF: csrf,
		Data: map[string]any{"Imports": list, "Problem": problem, "Today": domain.DateOf(h.now()).String(), "IdentityConflicts": conflicts}})
}

// upload receives a file: « Prévisualiser » keeps it (an hour at most,
// for its uploader) and shows what importing it would do; « Importer »
// starts its import at once and shows its progress.
//
// The form is read as a stream (see checkCSRF): the options come before
// the file (the form puts the file last; the button says its action in
// the address, since a browser sends it after the file), and the file
// goes straight into the importer's storage once the role is checked.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	s, _ := r.Context().Value(ctxKey{}).(sessionInfo)
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		h.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "Votre rôle ne permet pas d'importer des bénéficiaires."))
		return
	}
	if s.parts == nil {
		h.showImports(w, r, http.StatusBadRequest, "Choisissez un fichier à importer.")
		return
	}
	var opt importer.Options
	action := r.URL.Query().Get("action")
	for {
		part, err := s.parts.NextPart()
		if err != nil {
			h.showImports(w, r, http.StatusBadRequest, "Choisissez un fichier à importer.")
			return
		}
		if part.FormName() == "fichier" {
			if part.FileName() == "" {
				h.showImports(w, r, http.StatusBadRequest, "Choisissez un fichier à importer.")
				return
			}
			if action == "preview" {
				h.preview(w, r, part.FileName(), part, opt)
			} else {
				h.startImport(w, r, part.FileName(), part, opt)
			}
			return
		}
		v, err := io.ReadAll(io.LimitReader(part, 1024))
		if err != nil {
			h.showImports(w, r, http.StatusBadRequest, "Le formulaire est incomplet : recommencez.")
			return
		}
		value := strings.TrimSpace(string(v))
		switch part.FormName() {
		case "format":
			opt.Format = value
		case "feuille":
			opt.Sheet = value
		case "action":
			action = cmp.Or(action, value)
		case "received":
			if value == "" {
				continue
			}
			if opt.Received, err = domain.ParseDate(value); err != nil {
				h.showImports(w, r, http.StatusBadRequest, "Date de réception : "+err.Error())
				return
			}
			if opt.Received.After(domain.DateOf(h.now())) {
				h.showImports(w, r, http.StatusBadRequest, "La date de réception ne peut pas être dans le futur.")
				return
			}
		}
	}
}

func (h *Handler) startImport(w http.ResponseWriter, r *http.Request, name string, body io.Reader, opt importer.Options) {
	a, _ := from(r.Context())
	id, err := h.importer().Start(r.Context(), a, name, body, opt)
	if err != nil {
		if code := domain.ErrorCode(err); code == domain.EINVALID {
			h.showImports(w, r, http.StatusBadRequest, domain.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+id, http.StatusSeeOther)
}

// preview stages the file and shows what importing it would do.
func (h *Handler) preview(w http.ResponseWriter, r *http.Request, name string, body io.Reader, opt importer.Options) {
	a, csrf := from(r.Context())
	if a.Role != domain.RoleAdmin && a.Role != domain.RoleDepartment {
		h.fail(w, r, domain.Errorf(domain.EFORBIDDEN, "Votre rôle ne permet pas d'importer des bénéficiaires."))
		return
	}
	im := h.importer()
	staged, err := im.Stage(a, name, body, opt)
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			h.showImports(w, r, http.StatusBadRequest, domain.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}
	pv, err := im.Preview(r.Context(), a, staged.Source(), staged.Options())
	status := http.StatusOK
	problem := ""
	if err != nil {
		im.Unstage(staged.Token)
		if domain.ErrorCode(err) != domain.EINVALID {
			h.fail(w, r, err)
			return
		}
		status, problem = http.StatusBadRequest, domain.ErrorMessage(err)
	}
	h.render(w, status, "import-preview", page{Title: "Prévisualisation de " + name, Nav: "imports", Actor: a, CSRF: csrf,
		Data: map[string]any{"Preview": pv, "Token": staged.Token, "Problem": problem, "Missing": pv.Info["missing_columns"] != nil,
			"Rejects": firstOf(pv.Rejects()), "MoreRejects": pv.Rejected - len(firstOf(pv.Rejects())),
			"Warnings": firstOf(pv.Warnings()), "MoreWarnings": len(pv.Warnings()) - len(firstOf(pv.Warnings())),
			"Hours": int(importer.StagedFor.Hours())}})
}

// shownLines is how many report lines a page shows (the rest in the CSV).
const shownLines = 500

func firstOf[T any](list []T) []T {
	return list[:min(len(list), shownLines)]
}

// confirmPreview imports a previewed file (« Importer ») or forgets it
// (« Annuler »).
func (h *Handler) confirmPreview(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	im := h.importer()
	staged, err := im.StagedFile(a, chi.URLParam(r, "token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.PostFormValue("action") != "import" {
		im.Unstage(staged.Token)
		http.Redirect(w, r, "/imports", http.StatusSeeOther)
		return
	}
	f, err := staged.Source().Open()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer im.Unstage(staged.Token)
	defer f.Close()
	h.startImport(w, r, staged.Name, f, staged.Options())
}

// previewReport downloads every reject and warning of a kept preview (the
// page shows the first 500 of each), for its uploader.
func (h *Handler) previewReport(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	im := h.importer()
	staged, err := im.StagedFile(a, chi.URLParam(r, "token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pv, err := im.Preview(r.Context(), a, staged.Source(), staged.Options())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := importer.WriteRejects(&buf, pv.Report); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="previsualisation-rejets.csv"`)
	_, _ = w.Write(buf.Bytes())
}

// importTemplate downloads the reprise template (header only).
func (h *Handler) importTemplate(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	var err error
	ext := chi.URLParam(r, "ext")
	if ext == "xlsx" {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		err = importer.WriteTemplateXLSX(&buf)
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		err = importer.WriteTemplateCSV(&buf)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="modele-reprise.`+ext+`"`)
	_, _ = w.Write(buf.Bytes())
}

// importGuide describes each column of a list.
func (h *Handler) importGuide(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	h.render(w, http.StatusOK, "import-guide", page{Title: "Guide des colonnes", Nav: "imports", Actor: a, CSRF: csrf,
		Data: map[string]any{"Fields": importer.Fields}})
}

// importPage shows an import's progress (the page refreshes itself while it
// runs) or its report.
func (h *Handler) importPage(w http.ResponseWriter, r *http.Request) {
	a, csrf := from(r.Context())
	run, rejects, err := h.Service.Import(r.Context(), a, chi.URLParam(r, "iid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if strings.HasSuffix(r.URL.Path, ".csv") {
		var buf bytes.Buffer
		if err := importer.WriteRejects(&buf, rejects); err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="rejets-%s.csv"`, run.ID))
		_, _ = w.Write(buf.Bytes())
		return
	}
	pct := 100
	if run.Total > 0 {
		pct = run.Processed * 100 / run.Total
	}
	shown := firstOf(rejects)
	h.render(w, http.StatusOK, "import", page{Title: "Import " + run.FileName, Nav: "imports", Actor: a, CSRF: csrf,
		Data: map[string]any{"Run": run, "Rejects": shown, "More": len(rejects) - len(shown), "Percent": pct, "Refresh": run.Status == "running",
			"Missing": run.Info["missing_columns"] != nil, "Warned": run.Info["warned"]}})
}

// mapping shows and changes the CSV column mapping.
func (h *Handler) mapping(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	m, err := h.Service.ImportMapping(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if m == nil {
		m = importer.DefaultMapping()
	}
	form := url.Values{}
	for f, names := range m {
		form.Set(f, strings.Join(names, " ; "))
	}
	h.showMapping(w, r, http.StatusOK, form, "", "")
}

func (h *Handler) showMapping(w http.ResponseWriter, r *http.Request, status int, form url.Values, problem, flash string) {
	a, csrf := from(r.Context())
	var fields []fieldData
	for _, f := range importer.FieldLabels {
		fd := field("mapping", f.Field, f.Label, "text")
		fd.Value = form.Get(f.Field)
		fields = append(fields, fd)
	}
	h.render(w, status, "mapping", page{Title: "Correspondance des colonnes", Nav: "imports", Actor: a, CSRF: csrf, Flash: flash,
		Data: map[string]any{"Fields": fields, "Problem": problem}})
}

func (h *Handler) saveMapping(w http.ResponseWriter, r *http.Request) {
	a, _ := from(r.Context())
	if r.PostFormValue("reset") != "" {
		if !confirmed(r) {
			h.fail(w, r, errNotConfirmed)
			return
		}
		r.PostForm = url.Values{}
		for f, names := range importer.DefaultMapping() {
			r.PostForm.Set(f, strings.Join(names, " ; "))
		}
	}
	m := importer.Mapping{}
	for _, f := range importer.FieldLabels {
		for _, name := range strings.Split(r.PostFormValue(f.Field), ";") {
			if name = strings.TrimSpace(name); name != "" {
				m[f.Field] = append(m[f.Field], name)
			}
		}
	}
	err := m.Validate()
	if err == nil {
		err = h.Service.SetImportMapping(r.Context(), a, m)
	}
	var de *domain.Error
	if errors.As(err, &de) && de.Code == domain.EINVALID {
		h.showMapping(w, r, http.StatusBadRequest, r.PostForm, de.Message, "")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showMapping(w, r, http.StatusOK, r.PostForm, "", "Correspondance enregistrée : les prochains imports de listes (CSV ou Excel) l'utiliseront.")
}
