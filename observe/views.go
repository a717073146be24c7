package observe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"millrace/table"
)

// The materialized tables of view sinks, read while the run goes on:
//
//	GET /api/views                       every table: name, stream, columns, keys, rows
//	GET /api/views/NAME?key=V            the rows of one key (a table keyed by one column)
//	GET /api/views/NAME?COL=V&COL2=W     the rows of one key, a value per key column
//	GET /api/views/NAME?offset=0&limit=100
//	                                     a page of the whole table, in the order of the keys'
//	                                     encoded bytes; next is the offset of the next page

// defaultPageRows and maxPageRows bound a page of a table.
const (
	defaultPageRows = 100
	maxPageRows     = 10_000
)

// viewsHandler serves /api/views and /api/views/NAME.
type viewsHandler struct {
	tables []*table.Table
}

// tableView describes a table in /api/views.
type tableView struct {
	Name    string   `json:"name"`
	From    string   `json:"from"`
	Columns []string `json:"columns"`
	Keys    []string `json:"keys"`
	Rows    int      `json:"rows"`
}

// tableRows is the answer to a lookup or a page of a table.
type tableRows struct {
	Name   string            `json:"name"`
	Key    map[string]string `json:"key,omitempty"`
	Total  *int              `json:"total,omitempty"`
	Offset *int              `json:"offset,omitempty"`
	Next   *int              `json:"next,omitempty"`
	Rows   []json.RawMessage `json:"rows"`
}

func (h viewsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/views"), "/")
	if name == "" {
		out := make([]tableView, 0, len(h.tables))
		for _, t := range h.tables {
			out = append(out, tableView{Name: t.Name, From: t.From, Columns: t.Columns(), Keys: t.KeyColumns(), Rows: t.Len()})
		}
		writeJSON(w, out)
		return
	}
	var t *table.Table
	for _, c := range h.tables {
		if c.Name == name {
			t = c
		}
	}
	if t == nil {
		http.Error(w, fmt.Sprintf("no view sink %q: GET /api/views lists them", name), http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if key, ok, err := keyOf(t, q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	} else if ok {
		rows, err := t.Lookup(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		named := map[string]string{}
		for i, c := range t.KeyColumns() {
			named[c] = key[i]
		}
		writeJSON(w, tableRows{Name: t.Name, Key: named, Rows: nonNil(rows)})
		return
	}
	offset, err := queryInt(q.Get("offset"), 0)
	if err != nil || offset < 0 {
		http.Error(w, fmt.Sprintf("offset %q: want a row number from 0", q.Get("offset")), http.StatusBadRequest)
		return
	}
	limit, err := queryInt(q.Get("limit"), defaultPageRows)
	if err != nil || limit < 1 || limit > maxPageRows {
		http.Error(w, fmt.Sprintf("limit %q: want 1 to %d rows", q.Get("limit"), maxPageRows), http.StatusBadRequest)
		return
	}
	rows, total, err := t.Page(offset, limit)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	page := tableRows{Name: t.Name, Total: &total, Offset: &offset, Rows: nonNil(rows)}
	if next := offset + len(rows); next < total {
		page.Next = &next
	}
	writeJSON(w, page)
}

// keyOf reads the key a query asks for: key=V for a table keyed by one column, else one
// parameter per key column; ok is false when the query names no key (a page).
func keyOf(t *table.Table, q map[string][]string) (values []string, ok bool, err error) {
	cols := t.KeyColumns()
	if v, has := q["key"]; has {
		if len(cols) != 1 {
			return nil, false, fmt.Errorf("view %s is keyed by %d columns %v: give each as COLUMN=VALUE", t.Name, len(cols), cols)
		}
		return v[:1], true, nil
	}
	for _, c := range cols {
		if v, has := q[c]; has {
			values = append(values, v[0])
		}
	}
	switch {
	case len(values) == 0:
		return nil, false, nil
	case len(values) < len(cols):
		return nil, false, fmt.Errorf("view %s is keyed by %v: give every key column", t.Name, cols)
	}
	return values, true, nil
}

func queryInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

func nonNil(rows []json.RawMessage) []json.RawMessage {
	if rows == nil {
		return []json.RawMessage{}
	}
	return rows
}
