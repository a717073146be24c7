package spec

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"plain", "plain", ""},
		{"${DIR}/tx.jsonl", "data/tx.jsonl", ""},
		{"${DIR}${DIR}", "datadata", ""},
		{"${NOPE:-out}/x", "out/x", ""},
		{"${EMPTY:-fallback}", "fallback", ""}, // empty counts as unset for a default
		{"${EMPTY}", "", ""},                   // but is a value without one
		{"${NOPE:-}", "", ""},
		{"${NOPE:-${DIR}/in}", "data/in", ""},
		{"${DIR:-${NOPE}}", "data", ""}, // an unused default is not expanded
		{"${NOPE:-a:-b}", "a:-b", ""},
		{"$$", "$", ""},
		{"$${DIR}", "${DIR}", ""},
		{"cost > $5 AND x = '$'", "cost > $5 AND x = '$'", ""},
		{"$", "$", ""},
		{"${NOPE:-$$}", "$", ""},
		{"${NOPE}", "", "environment variable NOPE is not set"},
		{"${NOPE:-${GONE}}", "", "environment variable GONE is not set"},
		{"${DIR", "", `unterminated "${DIR"`},
		{"${NOPE:-${DIR}", "", "unterminated"},
		{"${}", "", "bad variable reference ${}"},
		{"${1X}", "", "bad variable reference ${1X}"},
		{"${DIR:=x}", "", "bad variable reference ${DIR:=x}"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, testEnv)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("expand(%q): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("expand(%q) error = %v, want one containing %q", tt.in, err, tt.err)
		case got != tt.want:
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestExpandInSpec checks that variables expand in every kind of scalar value, before it is
// decoded as a number, a duration or an expression, and not in keys.
func TestExpandInSpec(t *testing.T) {
	s := mustParse(t, `name: ${NAME:-env-test}
sources:
  gen:
    kind: generator
    rate: ${RATE}
    watermark: ${WM:-2s}
    checks: ["amount < ${MAX:-1000}"]
views:
  v:
    from: gen
    where: "note <> '$$${DIR}'"
`)
	g := s.Source("gen")
	if s.Name != "env-test" || g.Generator.Rate != 250 || g.Watermark.String() != "2s" {
		t.Errorf("name %q, rate %g, watermark %s", s.Name, g.Generator.Rate, g.Watermark)
	}
	if got := g.Checks[0].Text; got != "amount < 1000" {
		t.Errorf("check = %q", got)
	}
	if got := s.View("v").Where.Text; got != "note <> '$data'" {
		t.Errorf("where = %q", got)
	}

	checkErrors(t, []errorCase{
		{"unset in a view", head + "views:\n  v:\n    from: tx\n    where: amount > ${LIMIT}\n", []string{
			"t.yaml:7: views.v.where: environment variable LIMIT is not set (set it, or give a default: ${LIMIT:-value})",
		}},
		{"unset in a list item", head + "views:\n  v:\n    from: [tx, '${SECOND}']\n", []string{
			"t.yaml:6: views.v.from[1]: environment variable SECOND is not set (set it, or give a default: ${SECOND:-value})",
		}},
		{"keys are not expanded", head + "views:\n  ${V}: {from: tx}\n", []string{
			`t.yaml:5: views.${V}: "${V}" is not a valid view name: use letters, digits and _, not starting with a digit`,
		}},
		{"expanded to nothing", head + "sinks:\n  out: {from: tx, kind: jsonl, path: '${EMPTY}'}\n", []string{
			"t.yaml:5: sinks.out.path: is empty; want a file or directory path",
		}},
	})
}
