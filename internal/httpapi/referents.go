package httpapi

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// routeDirectory mounts the structures and référents: list (keyset pages,
// search q), get, create (POST), update (PATCH: only the keys sent change;
// "active": false deactivates a référent).
func (h *Handler) routeDirectory(r chi.Router) {
	r.Get("/structures", listHandler(h, h.Service.Structures))
	r.Post("/structures", createHandler(h, "/api/v1/structures/", h.Service.CreateStructure, func(s domain.Structure) string { return s.ID }))
	r.Get("/structures/{id}", getHandler(h, h.Service.Structure))
	r.Patch("/structures/{id}", patchHandler(h, h.Service.Structure, h.Service.UpdateStructure))
	r.Get("/referents", listHandler(h, h.Service.ReferentsPage))
	r.Post("/referents", createHandler(h, "/api/v1/referents/", h.Service.CreateReferent, func(r domain.Referent) string { return r.ID }))
	r.Get("/referents/{id}", getHandler(h, h.Service.Referent))
	r.Patch("/referents/{id}", patchHandler(h, h.Service.Referent, h.Service.UpdateReferent))
}

func listHandler[T any](h *Handler, list func(context.Context, domain.Actor, postgres.DirectoryFilter) ([]T, string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := postgres.DirectoryFilter{Q: q.Get("q"), StructureID: q.Get("structure_id"), Cursor: q.Get("cursor")}
		var err error
		if f.Limit, err = limit(q.Get("limit"), 100, 500); err != nil {
			h.Error(w, r, err)
			return
		}
		if f.ActiveOnly, err = boolParam(q.Get("active"), "active"); err != nil {
			h.Error(w, r, err)
			return
		}
		items, next, err := list(r.Context(), actorFrom(r.Context()), f)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		if items == nil {
			items = []T{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": nullable(next)})
	}
}

func getHandler[T any](h *Handler, get func(context.Context, domain.Actor, string) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := get(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
		if err != nil {
			h.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func createHandler[T any](h *Handler, base string, create func(context.Context, domain.Actor, T) (T, error), id func(T) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in T
		if err := decode(r, &in); err != nil {
			h.Error(w, r, err)
			return
		}
		v, err := create(r.Context(), actorFrom(r.Context()), in)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		w.Header().Set("Location", base+id(v))
		writeJSON(w, http.StatusCreated, v)
	}
}

// patchHandler reads the record, lays the body's keys over it, and saves.
func patchHandler[T any](h *Handler, get func(context.Context, domain.Actor, string) (T, error),
	update func(context.Context, domain.Actor, string, T) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, id := actorFrom(r.Context()), chi.URLParam(r, "id")
		v, err := get(r.Context(), a, id)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		if err := decode(r, &v); err != nil {
			h.Error(w, r, err)
			return
		}
		if v, err = update(r.Context(), a, id, v); err != nil {
			h.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}
