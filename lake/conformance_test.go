package lake

import (
	"fmt"
	"testing"
	"time"

	"millrace/format"
	"millrace/objstore"
	"millrace/source"
	"millrace/source/sourcetest"
)

// TestLakeConforms runs the conformance suite on a lake of three day partitions in a
// directory, files of several row groups cut into work items, with a filter that prunes a
// day and row groups. (A lake in S3 reads through the same readers, and its store keeps
// idle connections to the server, which the suite's check for goroutines left behind after
// the readers close would count: TestS3LakeReadsAsTheDirectoryDoes covers it.)
func TestLakeConforms(t *testing.T) {
	stores := map[string]func(t *testing.T) objstore.Store{
		"dir": func(t *testing.T) objstore.Store { return dirStore(t) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			for d := 1; d <= 3; d++ {
				key := fmt.Sprintf("year=2026/month=03/day=%02d/part-0.parquet", d)
				if err := store.Put(t.Context(), key, txFile(t, time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC), 1000, 100)); err != nil {
					t.Fatal(err)
				}
			}
			opts := Options{Schema: withFields(txSchema, dayParts[2]), Partitioning: dayParts, SplitRows: 300,
				Filter: mustParse(t, "day >= 2 AND ts >= '2026-03-02T05:00:00Z'"), Read: format.ReadOptions{BatchRows: 64}}
			sourcetest.Run(t, sourcetest.Subject{
				New: func(t *testing.T) source.Source {
					s, err := Open(t.Context(), store, opts)
					if err != nil {
						t.Fatal(err)
					}
					return s
				},
				// Day 2 from its row group of 05:00 (row 300), and day 3 whole.
				Records: 700 + 1000,
			})
		})
	}
}
