//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"millrace/cluster"
	"millrace/objstore"
	"millrace/objstore/objstoretest"
)

// TestClusterRestoresIncrementalState runs a worker with the pebble backend keeping its
// state on the S3 server over HTTP, over half the input, until the state object a key
// group committed last names pieces in an object written at least three checkpoints
// before (the key group's windows did not change in between, and were not written again).
// The worker is killed; another takes every unit over from those objects, reads the rest
// of the input, and what the cluster committed equals what one process makes.
func TestClusterRestoresIncrementalState(t *testing.T) {
	f := newClusterFixture(t, 20_000, 4)
	f.state = objstoretest.S3(t)
	f.produce(t, 0.5)
	start := func(name string) *workerProc {
		f.workerArgs = []string{"--state-backend", "pebble", "--spill-above", "1", "--spill-dir", t.TempDir()}
		return f.startWorker(t, name)
	}
	store, err := objstore.Open(context.Background(), f.state, objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	a := start("a")
	adm := admin(t, f.brokers)
	var unchanged string
	f.waitFor(t, func([]cluster.WorkerStatus) bool {
		unchanged = namedFromEarlier(t, adm, store, 3)
		return unchanged != ""
	})
	t.Log(unchanged)
	a.kill(t)
	b := start("b")
	f.produce(t, 1)
	f.expect(t)
	f.waitCommitted(t, "got-large", len(f.wantLarge), b)
	f.waitCommitted(t, "got-velocity", len(f.wantVelocity), b)
	b.stop(t)
	f.check(t)
}

// namedFromEarlier finds a key group whose committed state object names pieces in an
// object of the same run at least n checkpoints older, and says which; "" if none does.
func namedFromEarlier(t *testing.T, adm *kadm.Client, store objstore.Store, n int) string {
	t.Helper()
	const topic = "millrace.ctest.velocity"
	offsets, err := adm.FetchOffsets(context.Background(), "ctest")
	if errors.Is(err, kerr.GroupIDNotFound) {
		return "" // the worker has not joined yet
	}
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(256) {
		c, ok := offsets.Lookup(topic, p)
		if !ok || c.Err != nil || c.Metadata == "" {
			continue
		}
		key := fmt.Sprintf("ctest/state/%s/%05d/%s", topic, p, c.Metadata)
		obj, err := store.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("the committed state of key group %d: %v", p, err)
		}
		for _, in := range piecesIn(t, key, obj) {
			if sameRun(in, c.Metadata) && checkpointNumber(t, c.Metadata)-checkpointNumber(t, in) >= n {
				return fmt.Sprintf("key group %d: checkpoint %s names pieces of checkpoint %s", p, c.Metadata, in)
			}
		}
	}
	return ""
}

// piecesIn reads the header of a state object (version 2: a magic line, the header's
// length as a uvarint, the JSON header) and returns the checkpoints whose objects hold
// pieces it names.
func piecesIn(t *testing.T, key string, obj []byte) []string {
	t.Helper()
	magic := []byte("millrace-unit-2\n")
	if !bytes.HasPrefix(obj, magic) {
		t.Fatalf("state object %s is not of version 2", key)
	}
	n, k := binary.Uvarint(obj[len(magic):])
	var h struct {
		Parts []struct {
			Pieces []struct {
				In string `json:"in"`
			} `json:"pieces"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(obj[len(magic)+k:len(magic)+k+int(n)], &h); err != nil {
		t.Fatalf("state object %s: %v", key, err)
	}
	var out []string
	for _, p := range h.Parts {
		for _, pc := range p.Pieces {
			if pc.In != "" {
				out = append(out, pc.In)
			}
		}
	}
	return out
}

// sameRun reports whether two checkpoint names (WORKER-RUN-ID) are of one run.
func sameRun(a, b string) bool {
	return a[:strings.LastIndex(a, "-")] == b[:strings.LastIndex(b, "-")]
}

// checkpointNumber is the ID of a checkpoint name WORKER-RUN-ID.
func checkpointNumber(t *testing.T, name string) int {
	t.Helper()
	id, err := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
	if err != nil {
		t.Fatalf("checkpoint %q: %v", name, err)
	}
	return id
}
