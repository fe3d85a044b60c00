package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

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

// handleStartImport takes the file as the request body (any content type):
// ?format=flux|csv|xlsx (default: detected), ?feuille= the workbook's sheet
// (default: the first), ?name= the file name for the report,
// ?received=YYYY-MM-DD for a list. It answers 202 with the import, whose
// progress GET /imports/{id} follows. ?dry_run=true writes nothing and
// answers 200 with the preview (importer.Preview).
func (h *Handler) handleStartImport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opt := importer.Options{Format: q.Get("format"), Sheet: q.Get("feuille")}
	if opt.Format != "" && opt.Format != importer.FormatFlux && opt.Format != importer.FormatCSV && opt.Format != importer.FormatXLSX {
		h.Error(w, r, domain.FieldError("format", "Format inconnu %q : flux, csv ou xlsx.", opt.Format))
		return
	}
	if v := q.Get("received"); v != "" {
		d, err := domain.ParseDate(v)
		if err != nil {
			h.Error(w, r, domain.FieldError("received", "%s", err.Error()))
			return
		}
		opt.Received = d
	}
	name := q.Get("name")
	if name == "" {
		name = "api-" + opt.Format
	}
	a := actorFrom(r.Context())
	if dry, _ := strconv.ParseBool(q.Get("dry_run")); dry {
		// Nothing written: what the import would do.
		body := http.MaxBytesReader(w, r.Body, importer.MaxUpload+1)
		src := importer.Source{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(body), nil }}
		pv, err := h.importer().Preview(r.Context(), a, src, opt)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, pv)
		return
	}
	id, err := h.importer().Start(r.Context(), a, name, http.MaxBytesReader(w, r.Body, importer.MaxUpload+1), opt)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	run, _, err := h.Service.Import(r.Context(), a, id)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/imports/"+id)
	writeJSON(w, http.StatusAccepted, run)
}

func (h *Handler) handleImports(w http.ResponseWriter, r *http.Request) {
	list, err := h.Service.Imports(r.Context(), actorFrom(r.Context()))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

// handleImport answers an import's progress or report, with its rejects;
// /rejects.csv downloads them.
func (h *Handler) handleImport(w http.ResponseWriter, r *http.Request) {
	run, rejects, err := h.Service.Import(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if chi.URLParam(r, "csv") == "" {
		writeJSON(w, http.StatusOK, map[string]any{"import": run, "rejects": rejects})
		return
	}
	var buf bytes.Buffer
	if err := importer.WriteRejects(&buf, rejects); err != nil {
		h.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="rejets-%s.csv"`, run.ID))
	_, _ = w.Write(buf.Bytes())
}

func (h *Handler) handleGetMapping(w http.ResponseWriter, r *http.Request) {
	m, err := h.Service.ImportMapping(r.Context(), actorFrom(r.Context()))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if m == nil {
		m = importer.DefaultMapping()
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *Handler) handlePutMapping(w http.ResponseWriter, r *http.Request) {
	var m importer.Mapping
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&m); err != nil || m == nil {
		h.Error(w, r, domain.Errorf(domain.EINVALID, "Un objet JSON est attendu : pour chaque champ, la liste des intitulés de colonnes."))
		return
	}
	if err := m.Validate(); err != nil {
		h.Error(w, r, err)
		return
	}
	if err := h.Service.SetImportMapping(r.Context(), actorFrom(r.Context()), m); err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}
