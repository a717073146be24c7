package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress reports long work: on a terminal one line redrawn in place with rows, rate,
// percent and ETA; otherwise a plain log line every few seconds.
type progress struct {
	w     io.Writer
	tty   bool
	what  string
	total float64 // the amount of work when known, in unit; 0 if unknown
	unit  string  // what total counts when it is not rows ("s of event time")
	start time.Time
	last  time.Time
	every time.Duration
	drawn bool
	now   func() time.Time
}

func newProgress(what string, total float64, unit string) *progress {
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	return &progress{w: os.Stderr, tty: tty, what: what, total: total, unit: unit, every: every, now: time.Now}
}

// update reports rows done and, when total counts something else, how much of it is done.
// It draws at most every p.every.
func (p *progress) update(rows int64, done float64) {
	now := p.now()
	if p.start.IsZero() {
		p.start, p.last = now, now
		return
	}
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	p.draw(rows, done, now)
}

func (p *progress) draw(rows int64, done float64, now time.Time) {
	elapsed := now.Sub(p.start).Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s rows", p.what, humanInt(rows))
	if elapsed > 0 {
		fmt.Fprintf(&b, ", %s rows/s", humanRate(float64(rows)/elapsed))
	}
	if p.total > 0 && done > 0 {
		frac := min(done/p.total, 1)
		fmt.Fprintf(&b, ", %.0f%%", frac*100)
		if frac < 1 && elapsed > 0.5 {
			eta := time.Duration(elapsed*(1-frac)/frac) * time.Second
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		}
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", b.String())
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, b.String())
	}
}

// done clears the progress line so the summary that follows starts clean.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// humanInt writes n with thousands separators.
func humanInt(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanRate writes a rate with a k or M suffix.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
