package objstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	b := Exponential(100*time.Millisecond, time.Second)
	for n, full := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		full *= time.Millisecond
		for range 100 {
			if d := b(n + 1); d <= full/2 || d > full {
				t.Fatalf("wait after failure %d: %v, want in (%v, %v]", n+1, d, full/2, full)
			}
		}
	}
	if d := Exponential(0, time.Second)(3); d != 0 {
		t.Fatalf("a zero base waits %v", d)
	}
}

var errFlaky = errors.New("flaky")

func isFlaky(err error) bool { return errors.Is(err, errFlaky) }

func TestRetryDo(t *testing.T) {
	ctx := t.Context()
	r := Retry{Attempts: 4, Backoff: noWait}.withDefaults()
	tries := 0
	err := r.do(ctx, "put", "k", isFlaky, func(attempt int) error {
		tries++
		if attempt != tries {
			t.Fatalf("attempt %d on try %d", attempt, tries)
		}
		if tries < 3 {
			return errFlaky
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Fatalf("%v after %d tries", err, tries)
	}

	tries = 0
	err = r.do(ctx, "put", "k", isFlaky, func(int) error { tries++; return errFlaky })
	if !errors.Is(err, errFlaky) || err.Error() != "after 4 attempts: flaky" || tries != 4 {
		t.Fatalf("%v after %d tries", err, tries)
	}

	tries = 0
	final := errors.New("final")
	err = r.do(ctx, "put", "k", isFlaky, func(int) error { tries++; return final })
	if err != final || tries != 1 {
		t.Fatalf("an error that is not transient: %v after %d tries", err, tries)
	}

	// The zero Retry is DefaultRetry.
	if d := (Retry{}).withDefaults(); d.Attempts != 6 || d.Backoff == nil {
		t.Fatalf("defaults %+v", d)
	}
}

func TestRetryWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r := Retry{Attempts: 10, Backoff: func(int) time.Duration { return time.Hour }, OnRetry: func(op, key string, failures int, err error) {
		if op != "get" || key != "k" || failures != 1 || err != errFlaky {
			t.Errorf("OnRetry(%s, %s, %d, %v)", op, key, failures, err)
		}
		cancel()
	}}
	err := r.do(ctx, "get", "k", isFlaky, func(int) error { return errFlaky })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) || !strings.HasPrefix(err.Error(), "after 1 attempt, stopped waiting") {
		t.Fatalf("%v", err)
	}
}
