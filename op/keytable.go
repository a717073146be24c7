package op

// keyTable interns keys: each distinct key's bytes get a small id, so the per-window indexes
// of a window aggregation hash an integer instead of the key. A key is dropped when no group
// refers to it any more; the table is rebuilt once deletes outnumber live keys, which keeps
// lookups fast under a stream of short-lived keys.
type keyTable struct {
	ids     map[string]uint32
	bytes   []string // by id; "" for a free id
	refs    []int32  // groups referring to each id
	free    []uint32
	deletes int
	size    int64 // bytes of the live keys
	// owner caches by id the owner WindowAgg.SnapshotGroups found for the key; -1 until
	// it has looked, and again when the id is given to another key.
	owner []int32
	// whole holds by id, when the window is the whole input (one group per key), the key's
	// group + 1, 0 while it has none: WindowAgg.group finds it without probing the
	// window's map. An id's entry goes with the id.
	whole []uint32
	codes codeKeys // ids by dictionary codes, for batches that carry them
}

func newKeyTable() keyTable { return keyTable{ids: map[string]uint32{}} }

// intern returns the id of key k, giving it one if it has none.
func (t *keyTable) intern(k []byte) uint32 {
	if id, ok := t.ids[string(k)]; ok {
		return id
	}
	s := string(k)
	var id uint32
	if n := len(t.free); n > 0 {
		id, t.free = t.free[n-1], t.free[:n-1]
		t.bytes[id], t.refs[id], t.owner[id], t.whole[id] = s, 0, -1, 0
	} else {
		id = uint32(len(t.bytes))
		t.bytes = append(t.bytes, s)
		t.refs = append(t.refs, 0)
		t.owner = append(t.owner, -1)
		t.whole = append(t.whole, 0)
	}
	t.ids[s] = id
	t.size += int64(len(s))
	return id
}

// startBatch readies internRow for the key columns of a new batch, which enc encodes.
func (t *keyTable) startBatch(enc *KeyEncoder) { t.codes.startBatch(enc.cols) }

// internRow returns the id of the key of row of the batch enc encodes, as intern of its
// bytes does, by the row's dictionary codes when the batch carries them.
func (t *keyTable) internRow(enc *KeyEncoder, row int) uint32 {
	if !t.codes.on {
		return t.intern(enc.Key(row))
	}
	s := t.codes.slot(row)
	if id := t.codes.slots[s]; id != 0 {
		return id - 1
	}
	id := t.intern(enc.Key(row))
	t.codes.slots[s] = id + 1
	t.codes.filled = append(t.codes.filled, int32(s))
	return id
}

// reset forgets every key at once, keeping the table's memory for the keys to come.
func (t *keyTable) reset() {
	t.codes.forget()
	clear(t.ids)
	t.bytes, t.refs, t.owner, t.free, t.whole = t.bytes[:0], t.refs[:0], t.owner[:0], t.free[:0], t.whole[:0]
	t.deletes, t.size = 0, 0
}

// release drops one reference to id, and the key with the last one.
func (t *keyTable) release(id uint32) {
	t.refs[id]--
	if t.refs[id] > 0 {
		return
	}
	t.codes.forget()
	delete(t.ids, t.bytes[id])
	t.size -= int64(len(t.bytes[id]))
	t.bytes[id] = ""
	t.free = append(t.free, id)
	t.deletes++
	if t.deletes > len(t.ids) && t.deletes > 1024 {
		fresh := make(map[string]uint32, len(t.ids))
		for k, v := range t.ids {
			fresh[k] = v
		}
		t.ids, t.deletes = fresh, 0
	}
}

// sizeBytes estimates the memory of the table: the key bytes, and per key a map entry and
// the slots of its id.
func (t *keyTable) sizeBytes() int64 {
	const perKey = 16 + 8 + 48 // the string header, the map entry and its share of buckets
	return t.size + int64(len(t.bytes))*(16+4+4+4) + int64(len(t.ids))*perKey + t.codes.sizeBytes()
}
