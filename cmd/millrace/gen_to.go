package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"millrace/format"
	"millrace/gen"
	"millrace/ingest"
)

// sendTo generates cfg's stream into the place target names, by its scheme.
func sendTo(cmd *cobra.Command, cfg gen.Config, target, tokenFile string) (gen.Stats, error) {
	u, err := url.Parse(target)
	if err != nil {
		return gen.Stats{}, usagef("--to %q: %v", target, err)
	}
	switch u.Scheme {
	case "http", "https":
		return postTo(cmd, cfg, u.String(), tokenFile)
	default:
		return gen.Stats{}, usagef("--to %q: want http://HOST:PORT/ingest/SOURCE or https://...", target)
	}
}

// postBatchRows is how many records one POST of gen --to http:// carries at most.
const postBatchRows = 1000

// postTo generates cfg's stream as NDJSON and POSTs it to target in batches, each retried
// under its own idempotency key until the server stores it (202).
func postTo(cmd *cobra.Command, cfg gen.Config, target, tokenFile string) (gen.Stats, error) {
	c := &ingest.Client{Retried: func(attempt int, why error) {
		if attempt == 1 || attempt%10 == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "millrace gen: %v; retrying\n", why)
		}
	}}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return gen.Stats{}, usagef("--to-token-file: %v", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	run := make([]byte, 6)
	if _, err := rand.Read(run); err != nil {
		return gen.Stats{}, err
	}
	p := &poster{ctx: cmd.Context(), c: c, url: target, keyPrefix: hex.EncodeToString(run)}
	stats, err := gen.Write(cmd.Context(), cfg, p, format.JSONL, format.WriteOptions{}, nil)
	if err != nil && cmd.Context().Err() != nil {
		return stats, fmt.Errorf("%w after %s rows (%s stored)", errInterrupted, humanInt(stats.Rows), humanInt(p.stored))
	}
	if err == nil {
		fmt.Fprintf(cmd.OutOrStdout(), "posted %s rows to %s in %d requests (%s refused by the source's decoding) in %s\n",
			humanInt(p.stored), target, p.batches, humanInt(p.refused), time.Since(p.started).Round(time.Millisecond))
	}
	return stats, err
}

// poster is the io.Writer gen writes NDJSON into: every Write (whole lines) goes out in
// POSTs of at most postBatchRows lines.
type poster struct {
	ctx       context.Context
	c         *ingest.Client
	url       string
	keyPrefix string
	started   time.Time
	batches   int
	stored    int64
	refused   int64
}

func (p *poster) Write(b []byte) (int, error) {
	if p.started.IsZero() {
		p.started = time.Now()
	}
	rest := b
	for len(rest) > 0 {
		end, lines := 0, 0
		for end < len(rest) && lines < postBatchRows {
			i := bytes.IndexByte(rest[end:], '\n')
			if i < 0 {
				end = len(rest)
				break
			}
			end += i + 1
			lines++
		}
		ans, err := p.c.Post(p.ctx, p.url, rest[:end], fmt.Sprintf("%s-%d", p.keyPrefix, p.batches))
		if err != nil {
			return len(b) - len(rest), err
		}
		p.batches++
		p.stored += int64(ans.Records)
		p.refused += int64(ans.DeadLetters)
		rest = rest[end:]
	}
	return len(b), nil
}
