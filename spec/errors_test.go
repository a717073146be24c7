package spec

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Pos{"a.yaml", 14, 5}, "views.v.select.spend", "must be an expression string"}, "a.yaml:14: views.v.select.spend: must be an expression string"},
		{&Error{Pos{"a.yaml", 3, 1}, "", "YAML: did not find expected key"}, "a.yaml:3: YAML: did not find expected key"},
		{&Error{Pos{File: "a.yaml"}, "name", "x"}, "a.yaml: name: x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorsSortedAndMatched(t *testing.T) {
	es := Errors{
		{Pos{"f", 9, 1}, "b", "second"},
		{Pos{"f", 2, 1}, "a", "first"},
		{Pos{"f", 9, 1}, "c", "third"},
		{Pos{"f", 2, 1}, "a", "first"},
	}
	err := es.sorted()
	want := "f:2: a: first\nf:9: b: second\nf:9: c: third"
	if err == nil || err.Error() != want {
		t.Errorf("sorted = %v, want\n%s", err, want)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(fmt.Errorf("plan: %w", err), ErrInvalid) {
		t.Error("Errors do not match ErrInvalid")
	}
	var got Errors
	if !errors.As(err, &got) || len(got) != 3 {
		t.Errorf("errors.As(Errors) = %v", got)
	}
	if (Errors{}).sorted() != nil {
		t.Error("no errors sorted to a non-nil error")
	}
}
