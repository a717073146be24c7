package plan

import (
	"fmt"
	"slices"
	"strings"

	"millrace/engine"
)

// Ledger accounts for every record of a run.
//
// Per source: read = accepted + rejected + late. Rejected records are the dead letters
// (undecodable, or failing a check); late ones arrived behind the watermark.
//
// Per view: in = kept + filtered + errors, where filtered counts rows a where clause or an
// inner join dropped, and errors the rows its first step sent to the view's errors side
// stream because an expression failed on them (or, in a tumbling window view, a sum would
// overflow with them); a windowed view's kept rows are folded into its windows, and out
// counts the window rows it emitted (after having). What the aggregation step after the
// keyed exchange sends to the errors is counted apart, as window errors, among the kept
// rows: raw rows of a hopping window whose sum would overflow, partial sums of a tumbling
// window that would, and window rows on which select or having fails. A qualify view's kept
// rows compete in their windows, and out counts the rows of each window's maximum. A view
// that joins a stream counts the rows of both inputs as in, and as filtered the rows of an
// inner side that joined nothing; out counts the joined rows its where kept.
type Ledger struct {
	Sources []SourceLedger `json:"sources"`
	Views   []ViewLedger   `json:"views"`
}

// SourceLedger is one source's line of the ledger.
type SourceLedger struct {
	Name     string `json:"name"`
	Read     int64  `json:"read"`
	Accepted int64  `json:"accepted"`
	Rejected int64  `json:"rejected"`
	Late     int64  `json:"late"`
}

// ViewLedger is one view's line of the ledger.
type ViewLedger struct {
	Name     string `json:"name"`
	In       int64  `json:"in"`
	Filtered int64  `json:"filtered"`
	Errors   int64  `json:"errors"`
	Kept     int64  `json:"kept"`
	// WindowErrors counts what the aggregation step of a windowed view, after the keyed
	// exchange, sent to its errors: rows or partial sums that would overflow a sum, window
	// rows on which select or having failed.
	WindowErrors int64 `json:"window_errors"`
	// Out counts the rows the view emitted; Having the window rows its having clause
	// dropped.
	Out    int64 `json:"out"`
	Having int64 `json:"having"`
}

// Balanced reports whether every equation holds.
func (l Ledger) Balanced() bool {
	for _, s := range l.Sources {
		if s.Read != s.Accepted+s.Rejected+s.Late {
			return false
		}
	}
	for _, v := range l.Views {
		if v.In != v.Kept+v.Filtered+v.Errors {
			return false
		}
	}
	return true
}

// Plus adds the ledger of a run that went on where l's stopped (after a rescale): the
// counts of each source and view add up.
func (l Ledger) Plus(next Ledger) Ledger {
	return Ledger{Sources: addLines(l.Sources, next.Sources), Views: addLines(l.Views, next.Views)}
}

// ledgerLine is a line of the ledger: named, with counts that add up.
type ledgerLine[T any] interface {
	key() string
	plus(T) T
}

// addLines adds each line of next to the line of lines with its name, or appends it.
func addLines[T ledgerLine[T]](lines, next []T) []T {
	out := slices.Clone(lines)
	at := make(map[string]int, len(out))
	for i, o := range out {
		if _, dup := at[o.key()]; !dup {
			at[o.key()] = i
		}
	}
	for _, n := range next {
		if i, ok := at[n.key()]; ok {
			out[i] = out[i].plus(n)
		} else {
			at[n.key()] = len(out)
			out = append(out, n)
		}
	}
	return out
}

func (s SourceLedger) key() string { return s.Name }

func (s SourceLedger) plus(n SourceLedger) SourceLedger {
	s.Read, s.Accepted, s.Rejected, s.Late = s.Read+n.Read, s.Accepted+n.Accepted, s.Rejected+n.Rejected, s.Late+n.Late
	return s
}

func (v ViewLedger) key() string { return v.Name }

func (v ViewLedger) plus(n ViewLedger) ViewLedger {
	v.In, v.Filtered, v.Kept, v.Out, v.Having = v.In+n.In, v.Filtered+n.Filtered, v.Kept+n.Kept, v.Out+n.Out, v.Having+n.Having
	v.Errors, v.WindowErrors = v.Errors+n.Errors, v.WindowErrors+n.WindowErrors
	return v
}

// Ledger reads the ledger of a run of p from its stats.
func (p *Plan) Ledger(st *engine.Stats) Ledger {
	var l Ledger
	nodes := make(map[string]engine.NodeReport, len(st.Nodes))
	for _, n := range st.Nodes {
		if _, dup := nodes[n.Name]; !dup {
			nodes[n.Name] = n
		}
	}
	for _, name := range p.Sources {
		n := nodes[name]
		l.Sources = append(l.Sources, SourceLedger{Name: name, Read: n.Read, Accepted: n.Accepted, Rejected: n.Rejected, Late: n.Late})
	}
	for _, v := range p.Views {
		first, last := nodes[v.First], nodes[v.Last]
		vl := ViewLedger{Name: v.Name, In: first.RowsIn, Filtered: first.Dropped, Errors: first.Errors,
			Kept: first.RowsIn - first.Dropped - first.Errors, Out: last.RowsOut}
		if v.First != v.Last {
			vl.Having, vl.WindowErrors = last.Dropped, last.Errors
		}
		l.Views = append(l.Views, vl)
	}
	return l
}

// String renders the ledger as a table.
func (l Ledger) String() string {
	var b strings.Builder
	for _, s := range l.Sources {
		fmt.Fprintf(&b, "source %-16s read %12d = accepted %12d + rejected %10d + late %10d\n", s.Name, s.Read, s.Accepted, s.Rejected, s.Late)
	}
	for _, v := range l.Views {
		fmt.Fprintf(&b, "view   %-16s in   %12d = kept     %12d + filtered %10d + errors %8d   out %d", v.Name, v.In, v.Kept, v.Filtered, v.Errors, v.Out)
		if v.Having > 0 {
			fmt.Fprintf(&b, " (having dropped %d)", v.Having)
		}
		if v.WindowErrors > 0 {
			fmt.Fprintf(&b, " (%d more to errors after the exchange)", v.WindowErrors)
		}
		b.WriteString("\n")
	}
	return b.String()
}
