package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"millrace/ingest"
)

// postBatchRows is how many records one POST of gen --to http:// carries at most.
const postBatchRows = 1000

// openHTTPTarget posts to an http source's endpoint, http(s)://HOST:PORT/PATH: NDJSON
// batches, each under its own idempotency key and retried until the server stores it.
func openHTTPTarget(ctx context.Context, u *url.URL, tokenFile string) (io.WriteCloser, error) {
	c := &ingest.Client{}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, usagef("--to-token-file: %v", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	run := make([]byte, 6)
	if _, err := rand.Read(run); err != nil {
		return nil, fmt.Errorf("--to: idempotency keys: %w", err)
	}
	return &poster{ctx: ctx, c: c, url: u.String(), keyPrefix: hex.EncodeToString(run)}, nil
}

// poster is the io.Writer gen writes NDJSON into: every Write (whole lines) goes out in
// POSTs of at most postBatchRows lines, each stored before Write returns.
type poster struct {
	ctx       context.Context
	c         *ingest.Client
	url       string
	keyPrefix string
	batches   int
}

func (p *poster) Write(b []byte) (int, error) {
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
		if _, err := p.c.Post(p.ctx, p.url, rest[:end], fmt.Sprintf("%s-%d", p.keyPrefix, p.batches)); err != nil {
			return len(b) - len(rest), err
		}
		p.batches++
		rest = rest[end:]
	}
	return len(b), nil
}

// Close has nothing to wait for: every Write was stored before it returned.
func (p *poster) Close() error { return nil }
