package nexmark

import "testing"

func TestRecyclerHandsReleasedBuffersOutAgain(t *testing.T) {
	r := NewRecycler()
	a := r.Allocate(4096)
	a[0] = 7
	r.Free(a[:100]) // a buffer comes back by its capacity, whatever its length
	b := r.Allocate(4096)
	if &b[0] != &a[0] || len(b) != 4096 || b[0] != 7 {
		t.Fatalf("got a fresh buffer (len %d) instead of the released one", len(b))
	}
	if c := r.Allocate(4096); &c[0] == &a[0] {
		t.Fatal("a buffer handed out twice")
	}
	if c := r.Allocate(8192); len(c) != 8192 {
		t.Fatalf("len %d, want 8192", len(c))
	}
}

func TestRecyclerKeepsABoundedNumberOfBuffers(t *testing.T) {
	r := NewRecycler()
	bufs := make([][]byte, 2*recycledPerSize)
	for i := range bufs {
		bufs[i] = r.Allocate(64)
	}
	for _, b := range bufs {
		r.Free(b)
	}
	if n := len(r.free[64]); n != recycledPerSize {
		t.Fatalf("keeps %d buffers of 64 bytes, want %d", n, recycledPerSize)
	}
}

func TestRecyclerGrowsInPlaceWhenItCan(t *testing.T) {
	r := NewRecycler()
	a := r.Allocate(128)
	if b := r.Reallocate(100, a); &b[0] != &a[0] || len(b) != 100 {
		t.Fatal("shrinking moved the buffer")
	}
	copy(a, "abc")
	b := r.Reallocate(256, a)
	if len(b) != 256 || string(b[:3]) != "abc" {
		t.Fatalf("growing lost the contents: len %d, %q", len(b), b[:3])
	}
	if c := r.Allocate(128); &c[0] != &a[0] {
		t.Fatal("the outgrown buffer was not taken back")
	}
}
