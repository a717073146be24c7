package window

// Fires reports whether a window ending at windowEnd (exclusive) fires at watermark: exactly
// when watermark >= windowEnd. The watermark promises that no record below it arrives any more,
// so once it reaches the end every record of [start, end) has been seen. A window whose end
// equals the watermark fires; one whose end is a millisecond later does not.
func Fires(windowEnd, watermark int64) bool { return watermark >= windowEnd }

// Late reports whether a record with event time ts arrives too late at watermark: every window
// it belongs to has already fired, so no result can include it.
//
// Tumble: late when the window holding ts ends at or before the watermark. Hop: late when the
// last window holding ts (the one starting at the latest slide boundary <= ts) has fired, since
// the earlier ones end sooner. Session: late when ts + Gap <= watermark, that is when the
// one-event session the record would open has already fired. Whole input: late only after
// the final watermark, when the one window has fired.
//
// A record behind the watermark but whose window is still open is not late: with hop 10m every
// 1m, a record 5 minutes behind the watermark still reaches its later windows.
func Late(ts, watermark int64, spec Spec) bool {
	switch spec.Kind {
	case Session:
		return Fires(ts+spec.Gap.Milliseconds(), watermark)
	case Hop:
		return Fires(floorTo(ts, spec.Every.Milliseconds())+spec.Size.Milliseconds(), watermark)
	case Whole:
		return Fires(WholeEnd, watermark)
	}
	size := spec.Size.Milliseconds()
	return Fires(floorTo(ts, size)+size, watermark)
}
