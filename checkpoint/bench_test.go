package checkpoint_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"millrace/checkpoint"
)

const (
	benchState = 1 << 30  // the state of one checkpoint
	benchBlob  = 64 << 20 // in blobs of this size
)

// benchBlobs returns benchState/benchBlob blobs of random bytes, one buffer shared by all.
func benchBlobs() []blob {
	data := make([]byte, benchBlob)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(data); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	blobs := make([]blob, benchState/benchBlob)
	for i := range blobs {
		blobs[i] = blob{fmt.Sprintf("state.%02d", i), data}
	}
	return blobs
}

// benchCommit writes checkpoint id of one step whose subtasks each own a blob.
func benchCommit(b *testing.B, s *checkpoint.Store, id uint64, blobs []blob) checkpoint.Manifest {
	p, err := s.Begin(id)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Abort() }()
	node := checkpoint.Node{Kind: "window aggregate", Fingerprint: "bench"}
	for i, bl := range blobs {
		if err := p.Write(bl.name, bl.data); err != nil {
			b.Fatal(err)
		}
		kg := checkpoint.KeyGroups{Start: 256 * i / len(blobs), End: 256 * (i + 1) / len(blobs)}
		node.Parts = append(node.Parts, checkpoint.Part{Subtask: i, KeyGroups: kg, Blob: bl.name})
	}
	m, err := p.Commit(checkpoint.Manifest{
		Taken:    time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC),
		Pipeline: "bench",
		Nodes:    map[string]checkpoint.Node{"state": node},
	})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkCommit writes and commits 1 GiB of state in 64 MiB blobs: everything is
// fsynced, so this is the disk's sustained write rate plus the protocol's cost.
func BenchmarkCommit(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB per checkpoint")
	}
	blobs := benchBlobs()
	s := mustOpen(b, checkpoint.OSFS{}, b.TempDir())
	b.SetBytes(benchState)
	var id uint64
	for b.Loop() {
		id++
		benchCommit(b, s, id, blobs)
		b.StopTimer()
		if err := s.Retain(1); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkLatestAndRead finds the newest checkpoint of 1 GiB and reads every blob back,
// verifying sizes and checksums: what a resuming run does. warm reads from the page cache
// (a restart on the same machine); cold first drops the blobs from it, where the
// operating system allows. warm-intact finds the checkpoint with LatestIntact, which reads
// every blob once more to verify it before the blobs are read.
func BenchmarkLatestAndRead(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB")
	}
	blobs := benchBlobs()
	dir := b.TempDir()
	s := mustOpen(b, checkpoint.OSFS{}, dir)
	m := benchCommit(b, s, 1, blobs)
	latest := func() (checkpoint.Manifest, error) { return s.Latest() }
	intact := func() (checkpoint.Manifest, error) {
		m, _, err := s.LatestIntact()
		return m, err
	}
	resume := func(b *testing.B, find func() (checkpoint.Manifest, error)) {
		got, err := find()
		if err != nil || got.ID != m.ID {
			b.Fatalf("Latest = %d, %v", got.ID, err)
		}
		for _, bl := range got.Blobs {
			data, err := s.Read(got, bl.Name)
			if err != nil {
				b.Fatal(err)
			}
			if len(data) != benchBlob {
				b.Fatalf("read %d bytes", len(data))
			}
		}
	}
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(benchState)
		for b.Loop() {
			resume(b, latest)
		}
	})
	b.Run("warm-intact", func(b *testing.B) {
		b.SetBytes(benchState)
		for b.Loop() {
			resume(b, intact)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(benchState)
		for b.Loop() {
			b.StopTimer()
			for _, bl := range m.Blobs {
				if err := evict(filepath.Join(dir, fmt.Sprintf("chk-%020d", m.ID), bl.Name)); err != nil {
					b.Skip(err)
				}
			}
			b.StartTimer()
			resume(b, latest)
		}
	})
}
