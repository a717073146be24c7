package spec

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error that says a spec is wrong, as opposed to
// one that says it could not be read. The CLI exits with status 2 on it.
var ErrInvalid = errors.New("spec: invalid pipeline spec")

// Pos is a place in a spec file. Line and Column count from 1; zero means unknown.
type Pos struct {
	File   string
	Line   int
	Column int
}

// String formats the position as FILE:LINE, or FILE when the line is unknown.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Error is one problem with a spec: where, at which key path, and what.
type Error struct {
	Pos Pos
	// Path is the key path of the offending value, such as views.velocity.window.every;
	// empty for problems with the file as a whole.
	Path string
	Msg  string
}

func newError(pos Pos, path, format string, args ...any) *Error {
	return &Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Error formats the problem as one line: FILE:LINE: key.path: message.
func (e *Error) Error() string {
	var b strings.Builder
	if where := e.Pos.String(); where != "" {
		b.WriteString(where)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports that every Error is an ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors are all the problems found in one spec, sorted by line.
type Errors []*Error

// Error formats the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports that Errors are an ErrInvalid.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// sorted returns the errors sorted by line, keeping the order of discovery within a line and
// dropping repeats, or nil when there are none.
func (es Errors) sorted() error {
	if len(es) == 0 {
		return nil
	}
	out := make(Errors, 0, len(es))
	seen := make(map[Error]bool, len(es))
	for _, e := range es {
		if !seen[*e] {
			seen[*e] = true
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *Error) int { return a.Pos.Line - b.Pos.Line })
	return out
}
