package agg

import (
	"bytes"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// stringExtreme is min or max of utf8 strings, plain or dictionary-encoded, compared bytewise.
// Each group keeps its own byte buffer, which is overwritten in place when a better value comes
// and kept across Reset, so that steady-state updates allocate only when a longer value needs
// more room.
type stringExtreme struct {
	extreme[[]byte]
	codes []int32 // dictionary codes of the current batch
	bytes int64   // capacity of the group buffers
}

func newStringExtreme(in arrow.DataType, fn string, isMax bool, cfg config) *stringExtreme {
	return &stringExtreme{extreme: newExtreme[[]byte](fn, isMax, in, cfg)}
}

func (e *stringExtreme) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := e.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	s, codes, err := stringsOf(e.name(), arg, e.codes)
	e.codes = codes
	if err != nil {
		return err
	}
	e.fold(b, &s)
	return nil
}

func (e *stringExtreme) fold(b batch, s *strs) {
	vals, has := e.vals, e.has
	for i, g := range b.groups {
		r := int32(i)
		if b.rows != nil {
			r = b.rows[i]
		}
		v, cur := s.value(r), vals[g]
		if !has[g] || (e.isMax && bytes.Compare(cur, v) < 0) || (!e.isMax && bytes.Compare(v, cur) < 0) {
			before := cap(cur)
			vals[g] = append(cur[:0], v...)
			has[g] = true
			e.bytes += int64(cap(vals[g]) - before)
		}
	}
}

func (e *stringExtreme) MergePartial(groups []uint32, partial arrow.Array) error {
	if err := checkPartial(e.name(), partial, arrow.BinaryTypes.String, len(groups)); err != nil {
		return err
	}
	e.grow(maxGroup(groups) + 1)
	b, err := e.sel.prepare(e.name(), groups, nil, partial)
	if err != nil {
		return err
	}
	s, _, err := stringsOf(e.name(), partial, nil)
	if err != nil {
		return err
	}
	e.fold(b, &s)
	return nil
}

func (e *stringExtreme) Partial(groups []uint32) (arrow.Array, error) { return e.Final(groups) }

func (e *stringExtreme) Final(groups []uint32) (arrow.Array, error) {
	b := array.NewStringBuilder(e.cfg.mem)
	defer b.Release()
	b.Reserve(len(groups))
	for _, g := range groups {
		if int(g) < len(e.has) && e.has[g] {
			b.BinaryBuilder.Append(e.vals[g])
		} else {
			b.AppendNull()
		}
	}
	return b.NewArray(), nil
}

// Reset empties groups but keeps their buffers for the next values.
func (e *stringExtreme) Reset(groups []uint32) {
	for _, g := range groups {
		if int(g) < len(e.vals) {
			e.vals[g], e.has[g] = e.vals[g][:0], false
		}
	}
}

func (e *stringExtreme) StateType() arrow.DataType  { return arrow.BinaryTypes.String }
func (e *stringExtreme) ResultType() arrow.DataType { return arrow.BinaryTypes.String }

func (e *stringExtreme) SizeBytes() int64 {
	return e.bytes + int64(cap(e.vals))*24 + int64(cap(e.has)) + int64(cap(e.codes))*4
}
