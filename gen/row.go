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

// rowHeap is a binary min-heap of rows ordered by event time, or by delivery time when
// byDeliver is set, and then by order.
type rowHeap struct {
	rows      []row
	byDeliver bool
}

func (h *rowHeap) len() int { return len(h.rows) }

// top returns the smallest row; the heap must not be empty.
func (h *rowHeap) top() *row { return &h.rows[0] }

func (h *rowHeap) less(i, j int) bool {
	a, b := &h.rows[i], &h.rows[j]
	ka, kb := a.ns, b.ns
	if h.byDeliver {
		ka, kb = a.deliver, b.deliver
	}
	if ka != kb {
		return ka < kb
	}
	return a.order < b.order
}

func (h *rowHeap) push(r row) {
	h.rows = append(h.rows, r)
	for i := len(h.rows) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.rows[i], h.rows[p] = h.rows[p], h.rows[i]
		i = p
	}
}

// pop removes and returns the smallest row; the heap must not be empty.
func (h *rowHeap) pop() row {
	out := h.rows[0]
	last := len(h.rows) - 1
	h.rows[0] = h.rows[last]
	h.rows = h.rows[:last]
	for i := 0; ; {
		l, s := 2*i+1, i
		if l < last && h.less(l, s) {
			s = l
		}
		if r := l + 1; r < last && h.less(r, s) {
			s = r
		}
		if s == i {
			break
		}
		h.rows[i], h.rows[s] = h.rows[s], h.rows[i]
		i = s
	}
	return out
}
