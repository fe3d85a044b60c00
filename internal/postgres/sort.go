package postgres

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// Sort orders a list on one of its sortable columns, a page at a time
// (keyset): the list's unique key breaks ties, in the same direction, so
// that a page starts exactly after the last row of the one before, however
// many rows share the sort value.
type Sort struct {
	Column string // a key of the list's sortable columns; "": the list's own order
	Desc   bool
	After  *Keyset // the last row of the page before
}

// Keyset is a row's place in a sorted list: its sort value, as the list's
// column expression renders it, and its unique key.
type Keyset struct{ Value, ID string }

// sortColumns maps a list's sortable column keys to SQL expressions of
// type text, never NULL: the value compared in ORDER BY and in the keyset
// condition alike, so both read the same order.
type sortColumns map[string]string

// clauses returns the keyset condition (parameters $n and $n+1) and the
// ORDER BY clause of s on a list whose unique key is id (a text
// expression), with the condition's parameters.
func (cols sortColumns) clauses(s Sort, id string, n int) (cond, order string, args []any, err error) {
	expr, ok := cols[s.Column]
	if !ok {
		return "", "", nil, domain.Errorf(domain.EINVALID, "Tri inconnu : choisissez une colonne du tableau.")
	}
	op, dir := ">", "ASC"
	if s.Desc {
		op, dir = "<", "DESC"
	}
	var value, key any
	if s.After != nil {
		value, key = s.After.Value, s.After.ID
	}
	cond = fmt.Sprintf("($%d::text IS NULL OR (%s, %s) %s ($%d::text, $%d::text))", n, expr, id, op, n, n+1)
	order = fmt.Sprintf("%s %s, %s %s", expr, dir, id, dir)
	return cond, order, []any{value, key}, nil
}

// sortValue selects the sort value of a row next to its columns, for the
// keyset of the next page.
func (cols sortColumns) sortValue(s Sort) string {
	if expr, ok := cols[s.Column]; ok {
		return expr
	}
	return "''"
}

// labelOrder is an SQL expression sorting codes by their French labels
// (a task kind, a case's status), the unknown ones by their code.
func labelOrder[K ~string](expr string, codes []K, french func(K) string) string {
	var b strings.Builder
	b.WriteString("CASE " + expr)
	for _, c := range slices.Sorted(slices.Values(codes)) {
		fmt.Fprintf(&b, " WHEN %s THEN %s", quote(string(c)), quote(strings.ToLower(french(c))))
	}
	b.WriteString(" ELSE " + expr + " END")
	return b.String()
}

// quote is an SQL string literal of s (labels of the code, never input).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// dateKey renders a date column as a sort value: ISO text, none last.
func dateKey(col string) string {
	return "coalesce(to_char(" + col + ", 'YYYY-MM-DD'), '9999-12-31')"
}

// nameKey is the sort value of a person's name: folded (accents and case),
// last name first.
const nameKey = "parcours_fold(b.last_name || ' ' || b.first_name)"
