package op

// Capturer is a Snapshotter whose snapshot is taken in two parts, so that a checkpoint
// holds the operator's input only for the first. CaptureSnapshot takes the state as it
// stands between two messages, for checkpoint id, on the operator's goroutine: it copies
// it, or freezes it and the operator copies first what it changes afterwards. The function
// it returns encodes that state into what Snapshot(id) would have returned, and may run
// on another goroutine while the operator handles the messages after the barrier. The
// engine calls the function exactly once, and takes no other snapshot of the operator
// before it has returned.
type Capturer interface {
	Snapshotter
	CaptureSnapshot(id uint64) (encode func() ([]byte, error), err error)
}
