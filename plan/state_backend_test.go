package plan

import (
	"strings"
	"testing"
)

func TestParseStateBackend(t *testing.T) {
	for in, want := range map[string]StateBackend{"": MemoryBackend, "memory": MemoryBackend, "pebble": PebbleBackend} {
		if got, err := ParseStateBackend(in); err != nil || got != want {
			t.Fatalf("ParseStateBackend(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseStateBackend("rocksdb"); err == nil || !strings.Contains(err.Error(), `"rocksdb"`) {
		t.Fatalf("ParseStateBackend(rocksdb) = %v, want an error naming it", err)
	}
}
