package gen

// row is one transaction as the generator holds it until it becomes a row of a batch. Country,
// currency, mcc and coordinates follow from the merchant and the channel.
type row struct {
	ns       int64  // event time, nanoseconds since the epoch
	deliver  int64  // when the row is handed out, on the same scale as ns
	order    uint64 // tie-break for rows due at the same time: scheduling order
	txn      int64  // the number in tx_id
	amount   int64  // cents of the merchant's currency
	account  int32
	card     int32
	merchant int32
	channel  uint8
	scenario uint8 // 0 for normal traffic, else the fraud Scenario + 1
	dup      bool  // a second copy of a row delivered before
}

// rowHeap is a binary min-heap of rows ordered by key, then by order. The fraud queue keys
// rows by event time, the delivery queue by delivery time.
type rowHeap struct {
	rows []row
}

// key is what rows are ordered by: a row's delivery time, which a queue of rows not
// scheduled for delivery yet sets to the event time.
func key(r *row) int64 { return r.deliver }

func (h *rowHeap) len() int { return len(h.rows) }

// top returns the smallest row; the heap must not be empty.
func (h *rowHeap) top() *row { return &h.rows[0] }

func before(a, b *row) bool {
	if key(a) != key(b) {
		return key(a) < key(b)
	}
	return a.order < b.order
}

func (h *rowHeap) push(r row) {
	h.rows = append(h.rows, r)
	i := len(h.rows) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(&r, &h.rows[p]) {
			break
		}
		h.rows[i] = h.rows[p]
		i = p
	}
	h.rows[i] = r
}

// pop removes and returns the smallest row; the heap must not be empty. It moves the hole
// left by the root down along the smaller children and fills it with the last row.
func (h *rowHeap) pop() row {
	out := h.rows[0]
	last := len(h.rows) - 1
	x := h.rows[last]
	h.rows = h.rows[:last]
	if last == 0 {
		return out
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= last {
			break
		}
		if c+1 < last && before(&h.rows[c+1], &h.rows[c]) {
			c++
		}
		if !before(&h.rows[c], &x) {
			break
		}
		h.rows[i] = h.rows[c]
		i = c
	}
	h.rows[i] = x
	return out
}
