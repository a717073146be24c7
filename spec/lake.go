package spec

import (
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"go.yaml.in/yaml/v3"
)

// partitionType says whether a lake's partition column may have type typ.
func partitionType(typ string) bool {
	switch strings.ToLower(typ) {
	case "string", "int32", "int64", "date":
		return true
	}
	return false
}

// finishLake checks a lake source's keys together: its partition columns are not columns of
// its schema too, and only an S3 lake has a server.
func (d *decoder) finishLake(src *Source, path string, has map[string]*yaml.Node) {
	if src.Path != "" && !strings.HasPrefix(src.Path, "s3://") {
		for _, k := range []string{"endpoint", "region", "path_style"} {
			if n := has[k]; n != nil {
				d.errorf(n, joinPath(path, k), "is for a lake in S3 (path: s3://bucket/prefix), and path %q is a directory", src.Path)
			}
		}
	}
	switch then, at := has["then"], has["switch_at"]; {
	case at != nil && then == nil:
		d.errorf(at, joinPath(path, "switch_at"), "is where the lake hands over to a live source: name it with then")
	case then != nil && has["event_time"] == nil:
		d.errorf(then, joinPath(path, "then"), "needs event_time: the lake and %s are cut at switch_at by event time", src.Lake.Then)
	}
	if len(src.Lake.Partitioning) == 0 || (src.Schema == "" && src.Columns == nil) {
		return
	}
	s, err := (&Source{Kind: src.Kind, Schema: src.Schema, Columns: src.Columns}).ArrowSchema()
	if err != nil {
		return // reported where the schema is declared
	}
	for _, c := range src.Lake.Partitioning {
		// Names in expressions match columns ignoring case when no column matches exactly,
		// so a partition column may not differ from a file column by case alone either.
		if slices.ContainsFunc(s.Fields(), func(f arrow.Field) bool { return strings.EqualFold(f.Name, c.Name) }) {
			d.errorf(has["partitioning"], joinPath(joinPath(path, "partitioning"), c.Name), "%s is a column of the files' schema too; a partition column's values come from the directories and are added to the rows", c.Name)
		}
	}
}
