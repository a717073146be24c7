package objstore

import (
	"fmt"
	"testing"

	"millrace/objstore/objstoretest"
)

// BenchmarkPutGet writes an object and reads it back, on a directory (with its fsyncs)
// and on the in-process S3 server over HTTP; bytes/s counts both ways.
func BenchmarkPutGet(b *testing.B) {
	for _, kind := range []string{"dir", "s3"} {
		for _, size := range []int{64 << 10, 1 << 20, 16 << 20} {
			b.Run(fmt.Sprintf("%s/%dKiB", kind, size>>10), func(b *testing.B) {
				url := "file://" + b.TempDir()
				if kind == "s3" {
					url = objstoretest.S3(b)
				}
				s, err := Open(b.Context(), url, Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = s.Close() }) // idle connections; nothing to report
				data := make([]byte, size)
				b.SetBytes(2 * int64(size))
				for b.Loop() {
					if err := s.Put(b.Context(), "state/k", data); err != nil {
						b.Fatal(err)
					}
					if got, err := s.Get(b.Context(), "state/k"); err != nil || len(got) != size {
						b.Fatalf("read back %d bytes, %v", len(got), err)
					}
				}
			})
		}
	}
}
