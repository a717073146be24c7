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
// more room. Batches whose rows all go to one group and whose column carries its Parquet
// dictionary codes (dictcode) compare each code's value once per dictionary instead of each
// row's.
type stringExtreme struct {
	extreme[[]byte]
	codes []int32 // dictionary codes of the current batch
	bytes int64   // capacity of the group buffers

	// The codes of seenDict whose values were folded into group seenGroup since it was last
	// Reset. The dictionary is compared by identity only; holding it keeps its address.
	seen      []bool
	seenDict  arrow.ArrayData
	seenGroup uint32
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
// rows: a code's value is folded the first time the code comes for the group and dictionary,
// and never again, since the group's value can only get better until it is Reset.
func (e *stringExtreme) foldCodes(b batch, codes []int32, dict arrow.ArrayData) {
	g := b.groups[0]
	if dict != e.seenDict || g != e.seenGroup {
		e.seen = growTo(e.seen[:0], dict.Len()) // all false: growTo clears what it adds
		e.seenDict, e.seenGroup = dict, g
	}
	seen, values := e.seen, strsOfData(dict)
	fold := func(c int32) {
		if !seen[c] {
			seen[c] = true
			e.foldValue(g, values.value(c))
		}
	}
	if b.rows == nil {
		for _, c := range codes[:len(b.groups)] {
			fold(c)
		}
	} else {
		for _, r := range b.rows {
			fold(codes[r])
		}
	}
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
	e.seenDict = nil // the codes seen may be better than the next values
	for _, g := range groups {
		if int(g) < len(e.vals) {
			e.vals[g], e.has[g] = e.vals[g][:0], false
		}
	}
}

func (e *stringExtreme) StateType() arrow.DataType  { return arrow.BinaryTypes.String }
func (e *stringExtreme) ResultType() arrow.DataType { return arrow.BinaryTypes.String }

func (e *stringExtreme) SizeBytes() int64 {
	return e.bytes + int64(cap(e.vals))*24 + int64(cap(e.has)) + int64(cap(e.codes))*4 + int64(cap(e.seen))
}
