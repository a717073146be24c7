package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Client posts records to an ingest endpoint until they are stored.
type Client struct {
	// HTTP sends the requests (default http.DefaultClient).
	HTTP *http.Client
	// Token, when set, is sent as "Authorization: Bearer Token".
	Token string
	// MaxWait bounds the pause between two attempts (default 5s); the first pause is 50ms
	// and each next one twice as long, unless the server says Retry-After.
	MaxWait time.Duration
	// Retried, when set, is told of every attempt that is retried and why.
	Retried func(attempt int, why error)
}

// Post sends body (NDJSON or a JSON array) to url under the idempotency key and returns
// the server's answer once it is 202. It retries, with the same key, on 429, on 5xx, and
// when the request fails or the answer is cut off: the records of a request whose answer
// never came may be stored, and the key lets the server drop them the second time. Any
// other status is an error. It gives up only when ctx ends.
func (c *Client) Post(ctx context.Context, url string, body []byte, key string) (Answer, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = 5 * time.Second
	}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ans, retry, after, why := c.post(ctx, hc, url, body, key)
		if !retry {
			return ans, why
		}
		if c.Retried != nil {
			c.Retried(attempt, why)
		}
		pause := min(wait, maxWait)
		if after > 0 {
			pause = min(after, maxWait)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return Answer{}, fmt.Errorf("post to %s: gave up after %d attempts: %w (last: %w)", url, attempt, ctx.Err(), why)
		}
		wait *= 2
	}
}

// post makes one attempt. retry says whether to repeat it, after (when the server said)
// how long; why says what went wrong.
func (c *Client) post(ctx context.Context, hc *http.Client, url string, body []byte, key string) (ans Answer, retry bool, after time.Duration, why error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Answer{}, false, 0, fmt.Errorf("post to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Answer{}, false, 0, fmt.Errorf("post to %s: %w", url, ctx.Err())
		}
		return Answer{}, true, 0, fmt.Errorf("post to %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }() // read below; a failed read is retried
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, true, 0, fmt.Errorf("post to %s: read answer: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusAccepted:
		if err := json.Unmarshal(text, &ans); err != nil {
			return Answer{}, false, 0, fmt.Errorf("post to %s: answer %q: %w", url, text, err)
		}
		return ans, false, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			after = time.Duration(s) * time.Second
		}
		return Answer{}, true, after, fmt.Errorf("post to %s: %s: %s", url, resp.Status, bytes.TrimSpace(text))
	default:
		return Answer{}, false, 0, fmt.Errorf("post to %s: %s: %s", url, resp.Status, bytes.TrimSpace(text))
	}
}
