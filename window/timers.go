package window

import "slices"

// Timers holds the distinct window ends that are still pending in one key group, in ascending
// order, so that a watermark advance finds what fires without scanning every key. Many keys
// share a window end, so Add of an end already held is a no-op, and adding ends in ascending
// order (the usual case) is an append. The zero value is empty and ready to use.
//
// Memory is reused: after warm-up neither Add nor PopUpTo allocates.
type Timers struct {
	ends []int64 // ascending, distinct; ends[head:] are pending
	head int
}

// Add records that some window ending at end is open. Adding an end already pending does
// nothing.
func (t *Timers) Add(end int64) {
	pending := t.ends[t.head:]
	if n := len(pending); n == 0 || end > pending[n-1] {
		if t.head > 0 && len(t.ends) == cap(t.ends) {
			t.compact()
		}
		t.ends = append(t.ends, end)
		return
	}
	i, found := slices.BinarySearch(pending, end)
	if found {
		return
	}
	if t.head > 0 {
		// Reuse the popped slot in front when the new end goes first.
		if i == 0 {
			t.head--
			t.ends[t.head] = end
			return
		}
		t.compact()
	}
	t.ends = slices.Insert(t.ends, i, end)
}

// PopUpTo removes every pending end that fires at watermark (end <= watermark, see Fires),
// appends them to dst in ascending order and returns dst.
func (t *Timers) PopUpTo(watermark int64, dst []int64) []int64 {
	pending := t.ends[t.head:]
	n := 0
	for n < len(pending) && Fires(pending[n], watermark) {
		n++
	}
	dst = append(dst, pending[:n]...)
	t.head += n
	if t.head == len(t.ends) {
		t.ends, t.head = t.ends[:0], 0
	}
	return dst
}

// Next returns the earliest pending end, and false when nothing is pending.
func (t *Timers) Next() (int64, bool) {
	if t.head == len(t.ends) {
		return 0, false
	}
	return t.ends[t.head], true
}

// Len returns the number of pending ends.
func (t *Timers) Len() int { return len(t.ends) - t.head }

// Ends returns the pending ends in ascending order, for snapshots. The slice aliases the
// Timers' memory and is valid until the next Add or PopUpTo.
func (t *Timers) Ends() []int64 { return t.ends[t.head:] }

// compact moves the pending ends to the front of the buffer.
func (t *Timers) compact() {
	n := copy(t.ends, t.ends[t.head:])
	t.ends, t.head = t.ends[:n], 0
}
