// Package lake reads a Parquet lake, a tree of Parquet files in a directory or under a
// prefix of an S3 bucket, as a bounded, resumable source, and reads as little of it as the
// pipeline needs:
//
//   - Hive partitions: directories name=value (year=2026/month=03/day=01/) give the rows of
//     their files partition columns; the conjuncts of the filter (the views' where) over
//     partition columns alone decide, level by level, which directories are listed at all.
//   - Row groups: the conjuncts that compare a file column with constants are rewritten into
//     tests over each row group's statistics (least and greatest value, NULL count; see
//     stats.go), and row groups the tests prove empty of wanted rows are not read.
//   - Projection: only the file columns of the source's schema are decoded, and only their
//     column chunks are fetched.
//   - Work items: each partition of the source is a range of row groups of one file, so
//     subtasks, and the workers of a cluster, share a large file.
//   - Reads: every read is a ranged read of the store (objstore); a reader fetches the
//     column chunks of a row group in one read per span of adjacent chunks, and the next row
//     group of its item while it decodes one.
//
// The pruning decisions are pure functions of the filter, the partition values and the
// statistics (partition.go, stats.go), tested without a store.
package lake
