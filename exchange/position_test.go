package exchange

import (
	"maps"
	"strings"
	"testing"
)

// TestPositionRoundTripsAndRefusesOthers encodes a position and reads it back, and refuses
// positions that are not exactly one of this partition, each saying why.
func TestPositionRoundTripsAndRefusesOthers(t *testing.T) {
	wms := map[string]int64{"tx/0": 1733500800000, "tx/1": -3}
	pos, err := encodePosition(testTopic, 17, 48213, wms)
	if err != nil {
		t.Fatal(err)
	}
	off, got, err := decodePosition(pos, testTopic, 17)
	if err != nil || off != 48213 || !maps.Equal(got, wms) {
		t.Fatalf("decoded %d %v %v", off, got, err)
	}
	for _, c := range []struct{ pos, want string }{
		{``, "empty position"},
		{`{"v":2,"topic":"t","partition":1,"offset":1,"watermarks":{}}`, "version 2"},
		{`{"v":1,"topic":"t","partition":1,"offset":1}`, "has a topic, a partition, an offset and watermarks"},
		{`{"v":1,"topic":"t","partition":1,"offset":-1,"watermarks":{}}`, "offset -1: negative"},
		{`{"v":1,"topic":"t","partition":1,"offset":1,"watermarks":{},"x":1}`, "unknown field"},
		{`{"v":1,"topic":"t","partition":1,"offset":1,"watermarks":{"a":"b"}}`, "not a position"},
		{`{"v":1,"topic":"` + testTopic + `","partition":16,"offset":1,"watermarks":{}}`, "not in " + testTopic + "/17"},
	} {
		if _, _, err := decodePosition([]byte(c.pos), testTopic, 17); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.pos, err, c.want)
		}
	}
}
