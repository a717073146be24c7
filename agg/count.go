package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// counter implements count(*) (star), count(x) and count_if(x) (onlyTrue): the number of
// rows, of non-null values of x, or of rows where the boolean x is true, per group. Its state
// and result are both int64; an empty group counts 0.
type counter struct {
	cfg      config
	star     bool
	onlyTrue bool
	counts   []int64
	sel      selector
}

func newCount(star bool, cfg config) *counter { return &counter{cfg: cfg, star: star} }

// newCountIf returns count_if(x) over a boolean x.
func newCountIf(in arrow.DataType, cfg config) (*counter, error) {
	if in.ID() != arrow.BOOL {
		return nil, undefined("count_if", in, "it takes a boolean, such as count_if(amount > 100)")
	}
	return &counter{cfg: cfg, onlyTrue: true}, nil
}

func (c *counter) name() string {
	switch {
	case c.star:
		return "count(*)"
	case c.onlyTrue:
		return "count_if"
	}
	return "count"
}

func (c *counter) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	var arg arrow.Array
	if !c.star {
		if err := wantArgs(c.name(), args, 1); err != nil {
			return err
		}
		arg = args[0]
	}
	b, err := c.sel.prepare(c.name(), groups, rows, arg)
	if err != nil {
		return err
	}
	c.counts = growTo(c.counts, b.need)
	counts := c.counts
	if c.onlyTrue {
		bools, ok := arg.(*array.Boolean)
		if !ok {
			return wrongType(c.name(), arg.DataType(), arrow.FixedWidthTypes.Boolean)
		}
		for i, g := range b.groups {
			if bools.Value(rowOf(b, i)) {
				counts[g]++
			}
		}
		return nil
	}
	for _, g := range b.groups {
		counts[g]++
	}
	return nil
}

func (c *counter) Partial(groups []uint32) (arrow.Array, error) { return c.Final(groups) }

func (c *counter) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(c.name(), partial, arrow.PrimitiveTypes.Int64, len(groups)); err != nil {
		return err
	}
	c.counts = growTo(c.counts, maxGroup(groups)+1)
	for i, n := range values[int64](partial) {
		if partial.IsValid(i) {
			c.counts[groups[i]] += n
		}
	}
	return nil
}

func (c *counter) Final(groups []uint32) (arrow.Array, error) {
	b := array.NewInt64Builder(c.cfg.mem)
	defer b.Release()
	appendCounts(b, c.counts, groups)
	return b.NewArray(), nil
}

func (c *counter) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) < len(c.counts) {
			c.counts[g] = 0
		}
	}
}

func (c *counter) StateType() arrow.DataType  { return arrow.PrimitiveTypes.Int64 }
func (c *counter) ResultType() arrow.DataType { return arrow.PrimitiveTypes.Int64 }
func (c *counter) SizeBytes() int64           { return int64(cap(c.counts)) * 8 }
