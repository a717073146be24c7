package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/expr"
	"millrace/format"
	"millrace/lake"
	"millrace/source"
	"millrace/spec"
)

// lakeSource opens a lake source whose rows have the columns of s (see usedColumns), with
// the where of the views that read it pushed down.
func (b *builder) lakeSource(ctx context.Context, src *spec.Source, s *arrow.Schema) (*lake.Source, string, error) {
	parts := make([]arrow.Field, len(src.Lake.Partitioning))
	full, err := src.ArrowSchema()
	if err != nil {
		return nil, "", b.spec.Errorf("sources."+src.Name, "%v", err)
	}
	for i, c := range src.Lake.Partitioning {
		parts[i] = full.Field(full.FieldIndices(c.Name)[0])
	}
	filter, wheres := lakeFilter(b.spec, src.Name)
	storeOpts := s3Options(src.Lake.S3)
	l, err := lake.OpenURL(ctx, src.Path, storeOpts, lake.Options{
		Schema:       s,
		Partitioning: parts,
		Filter:       filter,
		Read:         format.ReadOptions{FailOnDamage: src.OnError.Fails(), Mem: b.opts.Mem},
	})
	if err != nil {
		return nil, "", b.spec.Errorf("sources."+src.Name+".path", "%v", err)
	}
	st := l.Stats()
	does := fmt.Sprintf("read the Parquet lake %s: %d file(s) of %d row groups, %d row groups pruned by statistics",
		l, st.Files, st.RowGroups, st.RowGroupsPruned)
	if st.Directories > 0 {
		does += fmt.Sprintf(", %d of %d partition directories pruned", st.DirectoriesPruned, st.Directories)
	}
	does += fmt.Sprintf(", in %d partition(s)", l.Partitions())
	if len(wheres) > 0 {
		does += "; pushed down: where " + strings.Join(wheres, ", or where ")
	}
	return l, does, nil
}

// readers lists the views and sinks that read the main stream of source name.
func readers(sp *spec.Spec, name string) (views []*spec.View, sinks []*spec.Sink) {
	for _, v := range sp.Views {
		if slices.Contains(v.From, name) {
			views = append(views, v)
		}
	}
	for _, k := range sp.Sinks {
		if k.From == name {
			sinks = append(sinks, k)
		}
	}
	return views, sinks
}

// lakeFilter is what every row the readers of a lake source keep is TRUE for: the OR of the
// where of the views that read it, with the conjuncts every where has in common drawn out
// before the OR, so that they prune as one view's would. It is nil when a view keeps rows
// without a where (or joins a table first, its where then being about joined rows) or a
// sink reads the source itself. It also returns the distinct where texts.
func lakeFilter(sp *spec.Spec, name string) (expr.Node, []string) {
	views, sinks := readers(sp, name)
	if len(sinks) > 0 || len(views) == 0 {
		return nil, nil
	}
	var wheres []expr.Node
	var texts []string
	for _, v := range views {
		if v.Where.IsZero() || v.Join != nil {
			return nil, nil
		}
		n, err := expr.Parse(v.Where.Text)
		if err != nil {
			return nil, nil // reported when the view is planned
		}
		if !slices.ContainsFunc(wheres, func(w expr.Node) bool { return w.String() == n.String() }) {
			wheres = append(wheres, n)
			texts = append(texts, v.Where.Text)
		}
	}
	if len(wheres) == 1 {
		return wheres[0], texts
	}
	and := func(l, r expr.Node) expr.Node {
		if l == nil {
			return r
		}
		return &expr.Binary{Op: "AND", L: l, R: r}
	}
	var common, any expr.Node
	for _, c := range andTerms(wheres[0]) {
		inAll := true
		for _, w := range wheres[1:] {
			inAll = inAll && slices.ContainsFunc(andTerms(w), func(d expr.Node) bool { return d.String() == c.String() })
		}
		if inAll {
			common = and(common, c)
		}
	}
	for _, w := range wheres {
		if any == nil {
			any = w
		} else {
			any = &expr.Binary{Op: "OR", L: any, R: w}
		}
	}
	return and(common, any), texts
}

// andTerms splits an expression at its top-level ANDs.
func andTerms(n expr.Node) []expr.Node {
	if b, ok := n.(*expr.Binary); ok && b.Op == "AND" {
		return append(andTerms(b.L), andTerms(b.R)...)
	}
	return []expr.Node{n}
}

// usedColumns narrows the schema s of a columnar source (a lake, Parquet files) to the
// columns its pipeline uses: those the expressions of the views that read it name (where,
// select, group_by, having, qualify, join keys), its event time and checks. A view that
// passes its input's columns on (no select, no aggregation), a union with another stream,
// or a sink of the source itself uses every column.
func usedColumns(sp *spec.Spec, src *spec.Source, s *arrow.Schema) *arrow.Schema {
	views, sinks := readers(sp, src.Name)
	if len(sinks) > 0 {
		return s
	}
	used := map[int]bool{}
	name := func(n string) {
		if i := s.FieldIndices(n); len(i) > 0 {
			used[i[0]] = true
			return
		}
		for i, f := range s.Fields() {
			if strings.EqualFold(f.Name, n) {
				used[i] = true
				return
			}
		}
	}
	exprs := func(es ...spec.Expr) {
		for _, e := range es {
			if e.IsZero() {
				continue
			}
			n, err := expr.Parse(e.Text)
			if err != nil {
				continue // reported when the view is planned
			}
			for _, c := range expr.Columns(n) {
				name(c)
			}
		}
	}
	name(src.EventTime)
	exprs(src.Checks...)
	for _, v := range views {
		grouped := v.Window != nil || len(v.GroupBy) > 0
		if len(v.From) > 1 || (len(v.Select) == 0 && !grouped) || v.Over != nil {
			return s
		}
		exprs(v.Where, v.Having, v.Qualify)
		exprs(v.GroupBy...)
		for _, f := range v.Select {
			exprs(f.Expr)
		}
		if v.Join != nil {
			for _, k := range v.Join.On {
				name(k)
			}
		}
	}
	var fields []arrow.Field
	for i, f := range s.Fields() {
		if used[i] {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		fields = s.Fields()[:1] // rows are counted, and a batch has a column
	}
	return arrow.NewSchema(fields, nil)
}

// thenSource makes the history of the lake source lakeSrc, read by history, go on with its
// live source (then:), which starts where no checkpoint says at switch_at less the lake's
// watermark, so that the live rows that come a little out of order are there too.
func (b *builder) thenSource(ctx context.Context, lakeSrc *spec.Source, history *lake.Source) (*source.Then, string, error) {
	live := *b.spec.Source(lakeSrc.Lake.Then)
	at := lakeSrc.Lake.SwitchAt
	if at.IsZero() {
		last, ok := history.TimeCeiling(lakeSrc.EventTime)
		if !ok {
			return nil, "", b.spec.Errorf("sources."+lakeSrc.Name+".then", "the lake's Parquet statistics do not give the greatest %s of every row group, so where to hand over to %s is not known: give switch_at", lakeSrc.EventTime, live.Name)
		}
		at = time.UnixMilli(last + 1).UTC()
	}
	start := at.Add(-lakeSrc.Watermark).UTC().Format(time.RFC3339Nano)
	s, err := live.ArrowSchema()
	if err != nil {
		return nil, "", b.spec.Errorf("sources."+live.Name, "%v", err)
	}
	var impl source.Source
	var what string
	switch live.Kind {
	case spec.SourceKafka:
		live.Kafka.Start = start
		ks, err := b.kafkaSource(ctx, &live, s)
		if err != nil {
			return nil, "", err
		}
		impl, what = ks, fmt.Sprintf("read %s from Kafka topics %s, from %s where no checkpoint says, offsets committed to group %s",
			live.Format, ks.Describe(), start, ks.Group())
	case spec.SourceNATS:
		live.NATS.Start = start
		ns, does, err := natsSource(b.spec.Name, &live, s)
		if err != nil {
			return nil, "", b.spec.Errorf("sources."+live.Name, "%v", err)
		}
		impl, what = ns, does
	}
	t, err := source.NewThen(history, impl, lakeSrc.EventTime, at)
	if err != nil {
		return nil, "", b.spec.Errorf("sources."+lakeSrc.Name+".then", "%v", err)
	}
	return t, fmt.Sprintf("the rows before %s, then those of %s at or after it: %s", at.UTC().Format(time.RFC3339Nano), live.Name, what), nil
}
