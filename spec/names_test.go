package spec

import "testing"

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		s             string
		ident, plName bool
	}{
		{"tx", true, true},
		{"_x9", true, true},
		{"Tx_2", true, true},
		{"card-velocity", false, true},
		{"9lives", false, false},
		{"-x", false, false},
		{"a b", false, false},
		{"a.b", false, false},
		{"é", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := isIdent(tt.s); got != tt.ident {
			t.Errorf("isIdent(%q) = %t", tt.s, got)
		}
		if got := isPipelineName(tt.s); got != tt.plName {
			t.Errorf("isPipelineName(%q) = %t", tt.s, got)
		}
	}
}

func TestSplitRef(t *testing.T) {
	tests := []struct{ ref, name, side string }{
		{"tx", "tx", ""},
		{"tx.late", "tx", "late"},
		{"tx.dead_letters", "tx", "dead_letters"},
		{"a.b.c", "a", "b.c"},
	}
	for _, tt := range tests {
		if name, side := SplitRef(tt.ref); name != tt.name || side != tt.side {
			t.Errorf("SplitRef(%q) = %q, %q", tt.ref, name, side)
		}
	}
}
