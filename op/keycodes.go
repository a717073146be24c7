package op

import (
	"github.com/apache/arrow-go/v18/arrow"

	"millrace/dictcode"
)

// maxCodeSlots bounds the slots of a codeKeys table (4 bytes each): key columns whose
// dictionaries multiply to more are keyed by their bytes.
const maxCodeSlots = 1 << 21

// codeKeys finds a row's key id by the dictionary codes of its key columns, when every key
// column of the batch carries them (see dictcode): the codes of a row, one per column, pick
// one slot of a table that holds the id its key bytes were given, so a row whose codes came
// before costs an index instead of encoding its key and hashing the bytes. The table is for
// one set of dictionaries (a Parquet column chunk's, shared by the batches read from it)
// and for the ids the key table holds: it is emptied when the dictionaries change, and once
// the key table drops ids (forget).
type codeKeys struct {
	dicts  []arrow.ArrayData // the dictionaries the table is for, per key column
	codes  [][]int32         // the current batch's codes, per key column
	stride []int             // per key column, the slots between its consecutive codes
	slots  []uint32          // per combination of codes: key id + 1, 0 while unknown
	filled []int32           // the slots set since the table was emptied
	on     bool              // the current batch's keys are found through the table
	stale  bool              // the key table dropped ids since the table was filled
}

// startBatch looks for codes on the key columns of a new batch.
func (c *codeKeys) startBatch(cols []arrow.Array) {
	c.on = false
	c.codes = c.codes[:0]
	if len(cols) == 0 {
		return // one group: nothing to key
	}
	same := len(c.dicts) == len(cols)
	for k, col := range cols {
		codes, dict, ok := dictcode.Of(col)
		if !ok {
			return
		}
		c.codes = append(c.codes, codes)
		same = same && c.dicts[k] == dict
	}
	if !same && !c.reshape(cols) {
		return
	}
	if c.stale {
		c.empty()
	}
	c.on = true
}

// reshape makes the table that of the dictionaries of cols, empty; it reports false when
// they have more combinations than maxCodeSlots.
func (c *codeKeys) reshape(cols []arrow.Array) bool {
	c.dicts, c.stride = c.dicts[:0], c.stride[:0]
	n := 1
	for _, col := range cols {
		_, dict, _ := dictcode.Of(col)
		c.dicts = append(c.dicts, dict)
		c.stride = append(c.stride, n)
		n *= dict.Len() + 1 // and a slot for null
		if n > maxCodeSlots {
			c.dicts = c.dicts[:0]
			return false
		}
	}
	if cap(c.slots) < n {
		c.slots = make([]uint32, n)
	} else {
		c.slots = c.slots[:n]
		clear(c.slots)
	}
	c.filled, c.stale = c.filled[:0], false
	return true
}

// empty unsets the filled slots.
func (c *codeKeys) empty() {
	if len(c.filled) > len(c.slots)/8 {
		clear(c.slots)
	} else {
		for _, s := range c.filled {
			c.slots[s] = 0
		}
	}
	c.filled, c.stale = c.filled[:0], false
}

// slot returns the table slot of row's codes.
func (c *codeKeys) slot(row int) int {
	s := 0
	for k, codes := range c.codes {
		s += int(codes[row]) * c.stride[k]
	}
	return s
}

// forget says the key table dropped ids: the table's slots may name ids given to other keys
// from now on, so the rest of the batch is keyed by bytes and the next one starts empty.
func (c *codeKeys) forget() { c.on, c.stale = false, true }

// sizeBytes is the memory of the table.
func (c *codeKeys) sizeBytes() int64 { return int64(cap(c.slots)+cap(c.filled)) * 4 }
