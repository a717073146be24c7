package plan

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/ingest"
	"millrace/natsjs"
	"millrace/spec"
)

// httpSource makes the source of an http source: the JetStream stream HTTP ingest stores
// its records in (at url, the embedded server the runner starts), read through a durable
// consumer that acknowledges what durable checkpoints hold, so the stream drops it.
func httpSource(pipeline string, src *spec.Source, s *arrow.Schema, url string) (*natsjs.Source, string, error) {
	if src.Format != format.JSONL {
		return nil, "", fmt.Errorf("http sources take JSON (NDJSON or a JSON array), not %s", src.Format)
	}
	durable := "millrace-" + pipeline + "-" + src.Name
	ns, err := natsjs.NewSource(natsjs.SourceConfig{Conn: natsjs.Conn{URL: url, Name: "millrace source " + src.Name},
		Stream: ingest.StreamName(src.Name), Subject: ingest.Subject(src.Name), Durable: durable, Format: format.JSONL, Schema: s, Zone: src.Zone})
	if err != nil {
		return nil, "", err
	}
	path := src.Path
	if path == "" {
		path = "/ingest/" + src.Name
	}
	return ns, fmt.Sprintf("take NDJSON or JSON arrays POSTed to %s, stored durably in JetStream stream %s before the 202, read through durable consumer %s", path, ingest.StreamName(src.Name), durable), nil
}
