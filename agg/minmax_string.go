package agg

import (
	"bytes"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/dictcode"
)

// stringExtreme is min or max of utf8 strings, plain or dictionary-encoded, compared bytewise.
// Each group keeps its own byte buffer, which is overwritten in place when a better value comes
// and kept across Reset, so that steady-state updates allocate only when a longer value needs
// more room. A batch whose rows all go to one group and whose column carries its Parquet
// dictionary codes (dictcode) compares each code present once instead of each row.
type stringExtreme struct {
	extreme[[]byte]
	codes   []int32 // dictionary codes of the current batch
	seen    []bool  // per dictionary code, present in the current batch; all false between batches
	present []int32 // the codes marked in seen
	bytes   int64   // capacity of the group buffers
}

func newStringExtreme(in arrow.DataType, fn string, isMax bool, cfg config) *stringExtreme {
	return &stringExtreme{extreme: newExtreme[[]byte](fn, isMax, in, cfg)}
}

func (e *stringExtreme) Update(groups []uint32, args []arrow.Array, rows []int32) error {
	b, arg, err := e.prepare(groups, args, rows)
	if err != nil {
		return err
	}
	if codes, dict, ok := dictcode.Of(arg); ok && oneGroup(b.groups) {
		e.foldCodes(b, codes, dict)
		return nil
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
	for i, g := range b.groups {
		r := int32(i)
		if b.rows != nil {
			r = b.rows[i]
		}
		e.foldValue(g, s.value(r))
	}
}

// foldCodes folds a batch whose rows all go to one group through the dictionary codes of its
// rows: it marks the codes present, then folds the value of each once.
func (e *stringExtreme) foldCodes(b batch, codes []int32, dict arrow.ArrayData) {
	e.seen = growTo(e.seen, dict.Len())
	seen, present := e.seen, e.present[:0]
	mark := func(c int32) {
		if !seen[c] {
			seen[c] = true
			present = append(present, c)
		}
	}
	if b.rows == nil {
		for _, c := range codes[:len(b.groups)] {
			mark(c)
		}
	} else {
		for _, r := range b.rows {
			mark(codes[r])
		}
	}
	values := strsOfData(dict)
	for _, c := range present {
		seen[c] = false
		e.foldValue(b.groups[0], values.value(c))
	}
	e.present = present
}

// foldValue makes v the value of group g if it is the group's first or better than its value.
func (e *stringExtreme) foldValue(g uint32, v []byte) {
	cur := e.vals[g]
	if !e.has[g] || (e.isMax && bytes.Compare(cur, v) < 0) || (!e.isMax && bytes.Compare(v, cur) < 0) {
		before := cap(cur)
		e.vals[g] = append(cur[:0], v...)
		e.has[g] = true
		e.bytes += int64(cap(e.vals[g]) - before)
	}
}

// oneGroup reports whether groups, not empty, are all the same group.
func oneGroup(groups []uint32) bool {
	for _, g := range groups {
		if g != groups[0] {
			return false
		}
	}
	return len(groups) > 0
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
	return e.bytes + int64(cap(e.vals))*24 + int64(cap(e.has)) + int64(cap(e.codes)+cap(e.present))*4 + int64(cap(e.seen))
}
