package web

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours-rsa/parcours/internal/domain"
	"github.com/parcours-rsa/parcours/internal/postgres"
)

// The lists' sorting and pages. A list's query says its sort (« tri », the
// column's key, and « ordre=desc »), the page to read (« apres », the keyset
// of the last row of the page before) and that page's rank (« rang », the
// number of its first row, for « 101–200 sur 914 »); its filters are kept
// in every link.

// listing is where a list stands: its path and query, its sort, its page.
type listing struct {
	Path    string
	Query   url.Values
	Sort    postgres.Sort
	Default string // the column sorted on when the query names none
	From    int    // rank of the page's first row, from 1
	Shown   int    // rows on the page
	Total   int    // rows of the whole list
	Next    string // link of the next page, "" on the last
	First   string // link of the first page, "" on the first
	// sortParam and orderParam name the query's sort (« tri », « ordre »
	// unless a second list of the page sorts apart: sortedAs).
	sortParam, orderParam string
}

// sortedAs reads a second list of a page, sorted in memory apart from the
// page's main list (no pages: a few hundred rows at most), its sort under
// the query parameters sortParam and orderParam.
func sortedAs(path string, q url.Values, sortParam, orderParam string, columns ...string) listing {
	l := listing{Path: path, Query: q, From: 1, sortParam: sortParam, orderParam: orderParam}
	if c := q.Get(sortParam); slices.Contains(columns, c) {
		l.Sort.Column, l.Sort.Desc = c, q.Get(orderParam) == "desc"
	}
	return l
}

func (l listing) params() (string, string) {
	if l.sortParam == "" {
		return "tri", "ordre"
	}
	return l.sortParam, l.orderParam
}

// readListing reads a list's sort and page from its query: columns are
// the keys it sorts on, def (desc: descending) its order when the query
// names none ("": the list's own order, its own cursor).
func readListing(path string, q url.Values, def string, desc bool, columns ...string) (listing, error) {
	l := listing{Path: path, Query: q, From: 1, Default: def}
	l.Sort.Column, l.Sort.Desc = q.Get("tri"), q.Get("ordre") == "desc"
	if l.Sort.Column != "" && !slices.Contains(columns, l.Sort.Column) {
		return l, domain.Errorf(domain.EINVALID, "Tri inconnu : choisissez une colonne du tableau.")
	}
	if l.Sort.Column == "" {
		l.Sort.Column, l.Sort.Desc = def, desc
	}
	if v := q.Get("rang"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return l, domain.Errorf(domain.EINVALID, "Page introuvable : revenez à la première.")
		}
		l.From = n
	}
	if v := q.Get("apres"); v != "" && l.Sort.Column != "" {
		k, ok := parseKeyset(v)
		if !ok {
			return l, domain.Errorf(domain.EINVALID, "Page introuvable : revenez à la première.")
		}
		l.Sort.After = &k
	}
	return l, nil
}

// A keyset reads « <sort value in base64url>.<unique key> ».
func formatKeyset(k postgres.Keyset) string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.Value)) + "." + k.ID
}

func parseKeyset(s string) (postgres.Keyset, bool) {
	v, id, ok := strings.Cut(s, ".")
	value, err := base64.RawURLEncoding.DecodeString(v)
	if !ok || err != nil || id == "" {
		return postgres.Keyset{}, false
	}
	return postgres.Keyset{Value: string(value), ID: id}, true
}

// link is the list's path with its query changed by edit; the page is
// always dropped (a new sort or filter starts on the first).
func (l listing) link(edit func(url.Values)) string {
	q := cloneValues(l.Query)
	q.Del("apres")
	q.Del("rang")
	q.Del("ok")
	if edit != nil {
		edit(q)
	}
	if len(q) == 0 {
		return l.Path
	}
	return l.Path + "?" + q.Encode()
}

// paged records a page of shown rows out of total, more telling whether
// rows follow, and after the cursor of the page's last row.
func (l *listing) paged(shown, total int, more bool, after string) {
	l.Shown, l.Total = shown, total
	if more {
		l.Next = l.link(func(q url.Values) {
			q.Set("apres", after)
			q.Set("rang", strconv.Itoa(l.From+shown))
		})
	}
	if l.Query.Get("apres") != "" {
		l.First = l.link(nil)
	}
}

// Range says which rows the page shows: « 101–200 sur 914 ».
func (l listing) Range() string {
	if l.Shown == 0 {
		return "0 sur " + strconv.Itoa(l.Total)
	}
	return strconv.Itoa(l.From) + "–" + strconv.Itoa(l.From+l.Shown-1) + " sur " + strconv.Itoa(l.Total)
}

// sortHead is a sortable column's header: a link sorting on it (the other
// way when it is the sorted column), its aria-sort.
type sortHead struct {
	Label, Href, Hint string
	Aria              string // ascending, descending, "" when not sorted on it
	Arrow             string
}

// Col is the header of the column key.
func (l listing) Col(key, label string) sortHead {
	h := sortHead{Label: label, Hint: "trier par ordre croissant"}
	current, desc := l.Sort.Column, l.Sort.Desc
	next := "asc"
	if key == current {
		h.Aria, h.Arrow = "ascending", "▲"
		if desc {
			h.Aria, h.Arrow = "descending", "▼"
		} else {
			next, h.Hint = "desc", "trier par ordre décroissant"
		}
	}
	sortParam, orderParam := l.params()
	h.Href = l.link(func(q url.Values) {
		q.Set(sortParam, key)
		q.Del(orderParam)
		if next == "desc" {
			q.Set(orderParam, "desc")
		}
	})
	return h
}

// Reset is the list without its filters nor sort.
func (l listing) Reset() string { return l.Path }

// keysetOf is the cursor of a row sorted on l's column.
func keysetOf(sortKey, id string) string {
	return formatKeyset(postgres.Keyset{Value: sortKey, ID: id})
}

// keysetPage trims list (a page's size+1 rows, read to know whether more
// follow) to the page, and records it in l with its last row's cursor.
func keysetPage[T any](l *listing, list []T, size, total int, key func(T) (sortKey, id string)) []T {
	more := len(list) > size
	if more {
		list = list[:size]
	}
	after := ""
	if len(list) > 0 {
		after = keysetOf(key(list[len(list)-1]))
	}
	l.paged(len(list), total, more, after)
	return list
}
