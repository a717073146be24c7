package spec

import "strings"

// The side streams every source has, named <source>.<side> in from: lists.
const (
	// DeadLetters carries the records a source refused: undecodable or failing a check.
	DeadLetters = "dead_letters"
	// Late carries the records that arrived after the watermark passed their event time.
	Late = "late"
	// ErrorRows is the side stream of a view: the rows whose expressions failed at run time (a
	// failed CAST, an integer overflow), with the expression and the reason.
	ErrorRows = "errors"
)

// sides lists the side stream names for suggestions.
var sides = []string{DeadLetters, Late}

// SplitRef splits a stream reference from a from: list into the source or view it names and
// the side stream, which is empty for the main stream: "tx.late" gives ("tx", "late").
func SplitRef(ref string) (name, side string) {
	name, side, _ = strings.Cut(ref, ".")
	return name, side
}

// isIdent reports whether s is an identifier: [A-Za-z_][A-Za-z0-9_]*. Names of sources,
// views, sinks, columns and variables are identifiers.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isPipelineName reports whether s can name a pipeline: an identifier that may also hold
// dashes after its first character, as in card-velocity.
func isPipelineName(s string) bool {
	return s != "" && s[0] != '-' && isIdent(strings.ReplaceAll(s, "-", "_"))
}

// identRule explains what an identifier is, for messages.
const identRule = "letters, digits and _, not starting with a digit"
