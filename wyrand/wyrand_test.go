package wyrand

import "testing"

func TestSourceIsDeterministicAndSpread(t *testing.T) {
	a, b := Source{State: Mix64(7)}, Source{State: Mix64(7)}
	seen := map[uint64]bool{}
	ones := 0
	for range 10_000 {
		x := a.Next()
		if x != b.Next() {
			t.Fatal("two sources with one seed differ")
		}
		if seen[x] {
			t.Fatal("repeated word")
		}
		seen[x] = true
		for ; x != 0; x &= x - 1 {
			ones++
		}
	}
	if mean := float64(ones) / 10_000; mean < 31 || mean > 33 {
		t.Fatalf("%.2f bits set per word on average", mean)
	}
	if Mix64(1) == Mix64(2) || Mix64(0) != 0 {
		t.Fatal("Mix64")
	}
}
