package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/op"
	"millrace/schema"
	"millrace/spec"
	"millrace/window"
)

// The kinds of the steps of a window join and a temporal join view.
const (
	KindWindowJoin   StepKind = "window join"
	KindTemporalJoin StepKind = "temporal join"
)

// windowJoin adds the step of a view that joins its input with another stream window by
// window. The joined rows end with window_start and window_end; window_end is their event
// time, as a window view's.
func (b *builder) windowJoin(v *spec.View, inputs []stream) error {
	jp := "views." + v.Name + ".join"
	outer := [2]bool{v.Join.Type == spec.LeftJoin || v.Join.Type == spec.FullJoin, v.Join.Type == spec.RightJoin || v.Join.Type == spec.FullJoin}
	sides, err := b.joinSides(v, inputs, outer)
	if err != nil {
		return err
	}
	w := window.Spec{Kind: window.Tumble, Size: v.Join.Window.Size}
	if v.Join.Window.Kind == spec.Hop {
		w = window.Spec{Kind: window.Hop, Size: v.Join.Window.Size, Every: v.Join.Window.Every}
	}
	for _, c := range []string{"window_start", "window_end"} {
		if sides.taken[c] {
			return b.spec.Errorf(jp, "the join adds the column %s, but an input has one: rename it in a view", c)
		}
	}
	cfg := op.WindowJoinConfig{Left: sides.left, Right: sides.right.schema, Window: w, Outer: outer,
		Key: sides.key, Time: sides.time, Carry: sides.carry}
	cfg.Out = arrow.NewSchema(append(sides.fields, arrow.Field{Name: "window_start", Type: schema.Timestamp},
		arrow.Field{Name: "window_end", Type: schema.Timestamp}), nil)
	if _, err := op.NewWindowJoin(cfg); err != nil {
		return b.spec.Errorf(jp+".window", "%v", err)
	}
	b.timeCols[v.Name] = "window_end"
	does := fmt.Sprintf("%s join %s on %s in each %s window, adding window_start and window_end",
		v.Join.Type, v.Join.Stream, strings.Join(v.Join.On, ", "), w)
	return b.joinStep(v, inputs, sides.right, cfg.Out, KindWindowJoin, does, func() (op.Operator, error) { return op.NewWindowJoin(cfg) })
}

// temporalJoin adds the step of a view that joins each input row with the version of the
// other stream's row of its key valid at the row's event time. The joined rows keep the
// input row's event time.
func (b *builder) temporalJoin(v *spec.View, inputs []stream) error {
	jp := "views." + v.Name + ".join"
	outer := v.Join.Type == spec.LeftJoin
	sides, err := b.joinSides(v, inputs, [2]bool{outer, false})
	if err != nil {
		return err
	}
	cfg := op.TemporalJoinConfig{Left: sides.left, Right: sides.right.schema, Outer: outer,
		Key: sides.key, Time: sides.time, Carry: sides.carry, Out: arrow.NewSchema(sides.fields, nil)}
	if _, err := op.NewTemporalJoin(cfg); err != nil {
		return b.spec.Errorf(jp, "%v", err)
	}
	does := fmt.Sprintf("%s join %s on %s as of each row's event time (the version of the latest event time at or before it)",
		v.Join.Type, v.Join.Stream, strings.Join(v.Join.On, ", "))
	return b.joinStep(v, inputs, sides.right, cfg.Out, KindTemporalJoin, does, func() (op.Operator, error) { return op.NewTemporalJoin(cfg) })
}
