package window

import (
	"fmt"
	"math"
	"time"
)

// Kind is the shape of a window: tumbling, hopping, session, or the whole input.
type Kind uint8

// The window kinds. The zero Kind is invalid, so a Spec left empty fails Validate.
const (
	Tumble Kind = iota + 1
	Hop
	Session
	// Whole is one window holding every row, whatever its event time: [WholeStart,
	// WholeEnd). It fires only on the final watermark of a bounded input, so a group-by
	// without a window over files emits its table once, at the end.
	Whole
)

// The bounds of the Whole window: the smallest and largest event times, so that only the
// final watermark (math.MaxInt64) reaches its end.
const (
	WholeStart = math.MinInt64
	WholeEnd   = math.MaxInt64
)

// String returns the name a pipeline spec uses for the kind: tumble, hop or session.
func (k Kind) String() string {
	switch k {
	case Tumble:
		return "tumble"
	case Hop:
		return "hop"
	case Session:
		return "session"
	case Whole:
		return "whole input"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Spec describes the windows of a view. Tumble uses Size; Hop uses Size and Every (the slide);
// Session uses Gap; Whole uses none. The fields a kind does not use must be zero. Every method of Spec and every
// function taking one expects a Spec that passed Validate.
type Spec struct {
	Kind  Kind
	Size  time.Duration // length of a tumbling or hopping window
	Every time.Duration // hop: distance between the starts of consecutive windows
	Gap   time.Duration // session: inactivity that closes a session
	// Sliced asks a hop whose size is a multiple of its slide to be folded through panes
	// (see Panes) when it is aggregated in two phases.
	Sliced bool
}

// Validate reports whether s describes windows that can be computed: durations positive and whole
// milliseconds, a hop's slide no longer than its size (so every record is in some window), and
// no field set that the kind does not use.
func (s Spec) Validate() error {
	if s.Sliced && s.Kind != Hop {
		return fmt.Errorf("window: only hopping windows are sliced into panes, not %v", s.Kind)
	}
	switch s.Kind {
	case Tumble:
		if err := positiveMillis("tumble size", s.Size); err != nil {
			return err
		}
		if s.Every != 0 {
			return fmt.Errorf("window: tumble takes no slide (every %v); use hop for overlapping windows", s.Every)
		}
		if s.Gap != 0 {
			return fmt.Errorf("window: tumble takes no gap (gap %v)", s.Gap)
		}
	case Hop:
		if err := positiveMillis("hop size", s.Size); err != nil {
			return err
		}
		if err := positiveMillis("hop slide (every)", s.Every); err != nil {
			return err
		}
		if s.Every > s.Size {
			return fmt.Errorf("window: hop slide %v is longer than its size %v, so some records would fall in no window", s.Every, s.Size)
		}
		if s.Gap != 0 {
			return fmt.Errorf("window: hop takes no gap (gap %v)", s.Gap)
		}
		if s.Sliced && s.Size%s.Every != 0 {
			return fmt.Errorf("window: hop %v every %v cannot be sliced into panes: its size is not a multiple of its slide", s.Size, s.Every)
		}
	case Session:
		if err := positiveMillis("session gap", s.Gap); err != nil {
			return err
		}
		if s.Size != 0 || s.Every != 0 {
			return fmt.Errorf("window: session takes only a gap (size %v, every %v)", s.Size, s.Every)
		}
	case Whole:
		if s.Size != 0 || s.Every != 0 || s.Gap != 0 {
			return fmt.Errorf("window: the whole input takes no size, slide or gap (size %v, every %v, gap %v)", s.Size, s.Every, s.Gap)
		}
	default:
		return fmt.Errorf("window: unknown kind %d (want tumble, hop, session or whole)", uint8(s.Kind))
	}
	return nil
}

func positiveMillis(what string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("window: %s must be positive, got %v", what, d)
	}
	if d%time.Millisecond != 0 {
		return fmt.Errorf("window: %s %v is not a whole number of milliseconds", what, d)
	}
	return nil
}

// String formats s the way a pipeline spec writes it, e.g. "hop 10m0s every 1m0s".
func (s Spec) String() string {
	switch s.Kind {
	case Tumble:
		return fmt.Sprintf("tumble %v", s.Size)
	case Hop:
		if s.Sliced {
			return fmt.Sprintf("hop %v every %v in panes", s.Size, s.Every)
		}
		return fmt.Sprintf("hop %v every %v", s.Size, s.Every)
	case Session:
		return fmt.Sprintf("session gap %v", s.Gap)
	}
	return s.Kind.String()
}

// End returns the exclusive end of the window starting at start: start + Size for tumbling and
// hopping windows, WholeEnd for the whole input. For sessions it returns start + Gap, the end
// of a session holding one event; real session ends come from Sessions.
func (s Spec) End(start int64) int64 {
	switch s.Kind {
	case Session:
		return start + s.Gap.Milliseconds()
	case Whole:
		return WholeEnd
	}
	return start + s.Size.Milliseconds()
}

// Panes returns the tumbling windows that slice s into panes, and whether s has them: a
// hopping window asked to be Sliced, whose size is a multiple of its slide, is the union of Size/Every
// consecutive panes of length Every, so a row can be folded once into its pane and the
// panes merged into the windows, instead of folding the row into each of its windows. The
// windows holding a pane are exactly those holding the pane's start (see Assign).
func (s Spec) Panes() (Spec, bool) {
	if s.Kind != Hop || !s.Sliced || s.Size%s.Every != 0 {
		return Spec{}, false
	}
	return Spec{Kind: Tumble, Size: s.Every}, true
}

// slide returns the distance in milliseconds between consecutive window starts: the size for
// tumbling windows, the slide for hopping ones.
func (s Spec) slide() int64 {
	if s.Kind == Hop {
		return s.Every.Milliseconds()
	}
	return s.Size.Milliseconds()
}

// floorTo rounds ts down to a multiple of n (n > 0), towards minus infinity.
func floorTo(ts, n int64) int64 {
	r := ts % n
	if r < 0 {
		r += n
	}
	return ts - r
}
