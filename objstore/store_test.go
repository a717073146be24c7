package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"millrace/objstore/objstoretest"
)

// noWait retries at once, so that tests of retries wait for nothing but the server.
func noWait(int) time.Duration { return 0 }

// open opens the store at url for the test and closes it when the test ends.
func open(t *testing.T, url string, opts Options) Store {
	t.Helper()
	s, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// kinds opens a fresh store of each kind for a test: a directory, and a prefix of a
// bucket on an in-process S3 server whose listings come in pages of 7 keys, so that a
// listing of a few dozen keys crosses pages.
var kinds = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"dir", func(t *testing.T) Store {
		return open(t, "file://"+t.TempDir(), Options{})
	}},
	{"s3", func(t *testing.T) Store {
		s := open(t, objstoretest.S3(t), Options{Retry: Retry{Backoff: noWait}})
		s.(*s3Store).pageSize = 7
		return s
	}},
}

// eachKind runs test against a fresh store of each kind.
func eachKind(t *testing.T, test func(t *testing.T, s Store)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { test(t, k.open(t)) })
	}
}

func mustGet(t *testing.T, s Store, key string) []byte {
	t.Helper()
	b, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutGetOverwrite(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		key := "state/velocity/017/000000000123"
		if err := s.Put(ctx, key, []byte("first")); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, key); string(got) != "first" {
			t.Fatalf("read back %q", got)
		}
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		if err := s.Put(ctx, key, big); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, key); !bytes.Equal(got, big) {
			t.Fatalf("read back %d bytes after overwriting with %d", len(got), len(big))
		}
		if err := s.Put(ctx, "empty", nil); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "empty"); len(got) != 0 {
			t.Fatalf("an empty object reads back as %q", got)
		}
	})
}

func TestCreateTwice(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		if err := s.Create(ctx, "a/b", []byte("one")); err != nil {
			t.Fatal(err)
		}
		err := s.Create(ctx, "a/b", []byte("two"))
		if !errors.Is(err, ErrExists) {
			t.Fatalf("second create: %v, want ErrExists", err)
		}
		if want := "objstore " + s.String() + ": create a/b: object exists"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if got := mustGet(t, s, "a/b"); string(got) != "one" {
			t.Fatalf("the refused create changed the object to %q", got)
		}
		if err := s.Put(ctx, "a/b", []byte("three")); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "a/b"); string(got) != "three" {
			t.Fatalf("put after create: read back %q", got)
		}
		if objs, err := s.List(ctx, ""); err != nil || len(objs) != 1 {
			t.Fatalf("list after creates: %v, %v (a refused create leaves nothing behind)", objs, err)
		}
	})
}

// Of many writers creating one key at once, exactly one succeeds and its data is what
// every reader finds.
func TestConcurrentCreateOneWins(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				errs[i] = s.Create(t.Context(), "state/join/001/000000000007", fmt.Appendf(nil, "writer %d", i))
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both created the key", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrExists):
				t.Fatalf("writer %d: %v, want ErrExists", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer created the key")
		}
		if got, want := string(mustGet(t, s, "state/join/001/000000000007")), fmt.Sprintf("writer %d", winner); got != want {
			t.Fatalf("read %q, want the winner's %q", got, want)
		}
	})
}

func TestListUnderPrefix(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		var want []Object
		for i := range 50 {
			key := fmt.Sprintf("state/velocity/%03d/000000000009", 255-5*i)
			data := bytes.Repeat([]byte{'x'}, i)
			if err := s.Put(ctx, key, data); err != nil {
				t.Fatal(err)
			}
			want = append(want, Object{Key: key, Size: int64(i)})
		}
		slices.SortFunc(want, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
		// Keys that sort between and around the directory's, and one elsewhere.
		for _, key := range []string{"state/velocity-2", "state/velocityz", "state/vel", "other/a"} {
			if err := s.Put(ctx, key, []byte("y")); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.List(ctx, "state/velocity/")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listed %d objects:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
		}
		keys := func(prefix string) []string {
			objs, err := s.List(ctx, prefix)
			if err != nil {
				t.Fatal(err)
			}
			var ks []string
			for _, o := range objs {
				ks = append(ks, o.Key)
			}
			return ks
		}
		all := keys("")
		if len(all) != 54 || !slices.IsSorted(all) {
			t.Fatalf("listing everything: %d keys, sorted %v: %v", len(all), slices.IsSorted(all), all)
		}
		// "state/velocity-2" sorts before "state/velocity/...": '-' < '/'.
		if got := keys("state/vel"); len(got) != 53 || got[0] != "state/vel" || got[1] != "state/velocity-2" || got[52] != "state/velocityz" {
			t.Fatalf("listing a partial segment: %v", got)
		}
		if got := keys("state/velocity/25"); !slices.Equal(got, []string{"state/velocity/250/000000000009", "state/velocity/255/000000000009"}) {
			t.Fatalf("listing a partial key group: %v", got)
		}
		if got := keys("nothing/"); len(got) != 0 {
			t.Fatalf("listing an empty prefix: %v", got)
		}
		if got := keys("other/a"); !slices.Equal(got, []string{"other/a"}) {
			t.Fatalf("listing by a whole key: %v", got)
		}
	})
}

func TestDelete(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		for _, key := range []string{"a/1", "a/2", "a/3", "b/1"} {
			if err := s.Put(ctx, key, []byte(key)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, "a/1", "a/3", "a/missing", "c/missing/too"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		objs, err := s.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := []Object{{"a/2", 3}, {"b/1", 3}}; !slices.Equal(objs, want) {
			t.Fatalf("after delete: %v, want %v", objs, want)
		}
		if _, err := s.Get(ctx, "a/1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get of a deleted key: %v", err)
		}
		// A deleted key can be created again.
		if err := s.Create(ctx, "a/1", []byte("again")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNotFound(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		if err := s.Put(ctx, "a/b", []byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"missing", "a/missing", "a/b/c", "a"} {
			_, err := s.Get(ctx, key)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("get %s: %v, want ErrNotFound", key, err)
			}
			if want := "objstore " + s.String() + ": get " + key + ": no such object"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if _, err := s.GetRange(ctx, key, 0, 10); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get range of %s: %v, want ErrNotFound", key, err)
			}
		}
	})
}

func TestGetRange(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		if err := s.Put(ctx, "lake/part-0.parquet", []byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			off, n int64
			want   string
		}{{0, 4, "0123"}, {3, 1, "3"}, {7, 10, "789"}, {0, 10, "0123456789"}, {9, 1 << 62, "9"}, {10, 1, ""}, {12, 5, ""}} {
			got, err := s.GetRange(ctx, "lake/part-0.parquet", c.off, c.n)
			if err != nil {
				t.Fatalf("range %d+%d: %v", c.off, c.n, err)
			}
			if string(got) != c.want {
				t.Errorf("range %d+%d: %q, want %q", c.off, c.n, got, c.want)
			}
		}
		for _, c := range [][2]int64{{-1, 3}, {0, 0}, {2, -1}} {
			if _, err := s.GetRange(ctx, "lake/part-0.parquet", c[0], c[1]); err == nil || !strings.Contains(err.Error(), "bad range") {
				t.Errorf("range %d+%d: %v, want a bad range", c[0], c[1], err)
			}
		}
	})
}

func TestBadKeys(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		for _, key := range []string{"", "/abs", "a//b", "a/../b", "..", "./a", "a/.", "a/", "bad\x00nul"} {
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, ErrBadKey) {
					t.Errorf("%s %q: %v, want ErrBadKey", op, key, err)
					return
				}
				if !strings.Contains(err.Error(), "objstore "+s.String()+": "+op+" ") || !strings.Contains(err.Error(), "bad key") {
					t.Errorf("%s %q: the error %q does not name the store, the operation and the key", op, key, err)
				}
			}
			check("put", s.Put(ctx, key, nil))
			check("create", s.Create(ctx, key, nil))
			_, err := s.Get(ctx, key)
			check("get", err)
			_, err = s.GetRange(ctx, key, 0, 1)
			check("get", err)
			check("delete", s.Delete(ctx, "fine", key))
		}
		for _, prefix := range []string{"/abs", "a//", "../", "a/../b"} {
			if _, err := s.List(ctx, prefix); !errors.Is(err, ErrBadKey) {
				t.Errorf("list %q: %v, want ErrBadKey", prefix, err)
			}
		}
		if objs, err := s.List(ctx, ""); err != nil || len(objs) != 0 {
			t.Fatalf("bad keys left objects: %v, %v", objs, err)
		}
	})
}

func TestCanceledContext(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Put(ctx, "a", []byte("x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("put under a canceled context: %v", err)
		}
		if _, err := s.List(ctx, ""); !errors.Is(err, context.Canceled) {
			t.Fatalf("list under a canceled context: %v", err)
		}
		if objs, err := s.List(t.Context(), ""); err != nil || len(objs) != 0 {
			t.Fatalf("a canceled put left %v, %v", objs, err)
		}
	})
}

// An object larger than one S3 upload part (16 MiB) goes up in parts and reads back whole.
func TestLargeObject(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		data := make([]byte, 20<<20+3)
		for i := range data {
			data[i] = byte(i * 7 >> 5)
		}
		if err := s.Put(ctx, "state/big", data); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "state/big"); !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes, not the %d written", len(got), len(data))
		}
		if got, err := s.GetRange(ctx, "state/big", 17<<20, 5<<20); err != nil || !bytes.Equal(got, data[17<<20:]) {
			t.Fatalf("range read %d bytes, %v", len(got), err)
		}
		if objs, err := s.List(ctx, "state/"); err != nil || !slices.Equal(objs, []Object{{"state/big", int64(len(data))}}) {
			t.Fatalf("listed %v, %v", objs, err)
		}
	})
}

func TestListDirListsOneLevel(t *testing.T) {
	eachKind(t, func(t *testing.T, s Store) {
		ctx := t.Context()
		var keys []string
		for y := 2025; y <= 2026; y++ {
			for m := 1; m <= 12; m++ {
				keys = append(keys, fmt.Sprintf("lake/year=%d/month=%02d/part-0.parquet", y, m))
			}
		}
		keys = append(keys, "lake/_SUCCESS", "lake/year=2026-old/x", "lake/year=2026/notes")
		for _, k := range keys {
			if err := s.Put(ctx, k, []byte("data")); err != nil {
				t.Fatal(err)
			}
		}
		dirs, objs, err := s.ListDir(ctx, "lake/")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"lake/year=2025/", "lake/year=2026-old/", "lake/year=2026/"}; !slices.Equal(dirs, want) {
			t.Errorf("dirs below lake/: %v, want %v", dirs, want)
		}
		if want := []Object{{"lake/_SUCCESS", 4}}; !slices.Equal(objs, want) {
			t.Errorf("objects below lake/: %v, want %v", objs, want)
		}
		dirs, objs, err = s.ListDir(ctx, "lake/year=2026/")
		if err != nil {
			t.Fatal(err)
		}
		if len(dirs) != 12 || dirs[0] != "lake/year=2026/month=01/" || dirs[11] != "lake/year=2026/month=12/" {
			t.Errorf("dirs below lake/year=2026/ (pages of 7 on S3): %v", dirs)
		}
		if want := []Object{{"lake/year=2026/notes", 4}}; !slices.Equal(objs, want) {
			t.Errorf("objects below lake/year=2026/: %v, want %v", objs, want)
		}
		if dirs, objs, err := s.ListDir(ctx, "nothing/"); err != nil || len(dirs)+len(objs) != 0 {
			t.Errorf("listing a prefix nothing has: %v %v %v", dirs, objs, err)
		}
		if _, _, err := s.ListDir(ctx, "lake"); !errors.Is(err, ErrBadKey) {
			t.Errorf("listing a prefix without a slash: %v, want ErrBadKey", err)
		}
	})
}
