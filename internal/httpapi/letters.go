package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/httpx"
)

// routeLetters adds the letters of the sanction procedure (and the digest
// sendings, issue #9 too) to the API.
func (h *Handler) routeLetters(r chi.Router) {
	r.Post("/reviews/{id}/notice-receipt", reviewCommand(h, h.Service.RecordNoticeReceipt))
	r.Post("/reviews/{id}/decision-notified", reviewCommand(h, h.Service.RecordDecisionNotified))
	r.Get("/reviews/{id}/letters", h.handleLetters)
	r.Post("/reviews/{id}/letters", h.handleProduceLetter)
	r.Get("/letters/{id}", h.handleLetter)
	r.Get("/letters/{id}/pdf", h.handleLetterPDF)
	r.Post("/letters/{id}/sent", post(h, h.Service.RecordLetterSent))
	r.Post("/letters/{id}/received", post(h, h.Service.RecordLetterReceived))
	r.Get("/letter-settings", h.handleLetterSettings)
	r.Put("/letter-settings/letterhead", h.handlePutLetterhead)
	r.Put("/letter-settings/bodies/{kind}", h.handlePutLetterBody)
	r.Get("/digest-sendings", h.handleDigestSendings)
}

func (h *Handler) handleLetters(w http.ResponseWriter, r *http.Request) {
	list, err := h.Service.Letters(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (h *Handler) handleProduceLetter(w http.ResponseWriter, r *http.Request) {
	var in domain.LetterRequest
	if err := decode(r, &in); err != nil {
		h.Error(w, r, err)
		return
	}
	v, err := h.Service.ProduceLetter(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), in)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/letters/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
}

func (h *Handler) handleLetter(w http.ResponseWriter, r *http.Request) {
	v, err := h.Service.Letter(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleLetterPDF serves the stored bytes, with their SHA-256 as the ETag
// and as Repr-Digest (RFC 9530), so that a client can check what it got.
func (h *Handler) handleLetterPDF(w http.ResponseWriter, r *http.Request) {
	pdf, v, err := h.Service.LetterPDF(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	httpx.ServeLetterPDF(w, pdf, v)
}

func (h *Handler) handleLetterSettings(w http.ResponseWriter, r *http.Request) {
	v, err := h.Service.LetterSettings(r.Context(), actorFrom(r.Context()))
	if err != nil {
		h.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) handlePutLetterhead(w http.ResponseWriter, r *http.Request) {
	var in domain.Letterhead
	if err := decode(r, &in); err != nil {
		h.Error(w, r, err)
		return
	}
	if err := h.Service.SaveLetterhead(r.Context(), actorFrom(r.Context()), in); err != nil {
		h.Error(w, r, err)
		return
	}
	h.handleLetterSettings(w, r)
}

func (h *Handler) handlePutLetterBody(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		h.Error(w, r, err)
		return
	}
	if err := h.Service.SaveLetterBody(r.Context(), actorFrom(r.Context()), domain.LetterKind(chi.URLParam(r, "kind")), in.Body); err != nil {
		h.Error(w, r, err)
		return
	}
	h.handleLetterSettings(w, r)
}
