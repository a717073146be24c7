package bench

import (
	"strings"
	"testing"
	"time"
)

func TestWriteNexmarkTable(t *testing.T) {
	var b strings.Builder
	results := []Result{
		{Name: "nexmark q0", Events: 10_000_000, Rows: 9_200_000, Elapsed: 800 * time.Millisecond, Cores: 2, CPU: 1600 * time.Millisecond},
		{Name: "nexmark q20", Events: 1_000_000, Rows: 3, Elapsed: 2500 * time.Millisecond, Cores: 2},
	}
	if err := WriteNexmarkTable(&b, results); err != nil {
		t.Fatal(err)
	}
	want := `| query | events | rows out | seconds | M events/s | M events/s per core | CPU seconds | M events per CPU second |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| q0 | 10000000 | 9200000 | 0.80 | 12.50 | 6.25 | 1.60 | 6.25 |
| q20 | 1000000 | 3 | 2.50 | 0.40 | 0.20 | - | - |
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
