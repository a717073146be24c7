package expr

import "testing"

func TestDecimalLiteral(t *testing.T) {
	for _, tc := range []struct{ in, typ string }{
		{"12.50", "decimal(4,2)"},
		{"0.5", "decimal(1,1)"},
		{"-0.05", "decimal(2,2)"},
		{"007.5", "decimal(2,1)"},
		{"12345678901234567890", "decimal(20,0)"},
		{"1.", "decimal(1,0)"},
	} {
		typ, _, err := decimalLiteral(tc.in)
		if err != nil || typ.String() != tc.typ {
			t.Errorf("decimalLiteral(%q) = %s, %v; want %s", tc.in, typ, err, tc.typ)
		}
	}
	if _, _, err := decimalLiteral("1234567890123456789012345678901234567890.5"); err == nil {
		t.Error("a 41-digit literal was accepted")
	}
}
