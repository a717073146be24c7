// Package ingest takes records over HTTP into durable JetStream streams: the `kind: http`
// sources of a pipeline.
//
// A client POSTs NDJSON or a JSON array (optionally Content-Encoding: gzip) to an
// endpoint's path. The answer is 202 only once every record of the request is stored in
// the endpoint's stream and the server has acknowledged it, so a crash after a 202 loses
// nothing: the pipeline reads the stream as a replayable source and acknowledges what it
// read once a checkpoint holding it is durable, which lets the stream (a work queue) drop
// it. Records the source's decoding refuses are stored too, become the source's dead
// letters in the pipeline, and are listed in the answer by index and reason.
//
// A request carrying an Idempotency-Key header names each record key/index, and the
// stream drops a record it already holds under that name (within DuplicateWindow), so a
// client that retries a request whose answer it never saw stores each record once.
//
// Limits: a body (after gzip) over MaxBody is answered 413; while the stream holds more
// than MaxBacklog records the pipeline has not yet acknowledged, 429 with Retry-After.
package ingest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DuplicateWindow is how long a stream remembers the records it stored by Idempotency-Key.
const DuplicateWindow = 10 * time.Minute

// Endpoint is one source records are posted to.
type Endpoint struct {
	// Source is the pipeline's source name; the stream is StreamName(Source).
	Source string
	// Path is the URL path POSTs go to (default /ingest/SOURCE).
	Path string
	// Schema is what every record is decoded into.
	Schema *arrow.Schema
	// MaxBody bounds a request's body in bytes, after gzip (default 16 MiB).
	MaxBody int64
	// MaxBacklog bounds the records stored and not yet acknowledged by the pipeline
	// (default 1 000 000); past it requests are answered 429.
	MaxBacklog int64
}

// StreamName is the JetStream stream that holds the records posted to source.
func StreamName(source string) string { return "INGEST_" + source }

// Subject is the subject records posted to source are stored under.
func Subject(source string) string { return "ingest." + source }

// Handler serves the POSTs of a set of endpoints. It is an http.Handler meant to be served
// by package listen, which authenticates the request and caps the body on the wire.
type Handler struct {
	js     jetstream.JetStream
	routes map[string]*endpoint
}

// endpoint is an Endpoint with its stream.
type endpoint struct {
	Endpoint
	stream jetstream.Stream
}

// retryAfter is what a 429 or 503 tells a client to wait, in seconds.
const retryAfter = "1"

// NewHandler creates (or finds) the stream of every endpoint through js and returns the
// handler that stores posted records in them.
func NewHandler(ctx context.Context, js jetstream.JetStream, eps []Endpoint) (*Handler, error) {
	h := &Handler{js: js, routes: map[string]*endpoint{}}
	for _, ep := range eps {
		if ep.Path == "" {
			ep.Path = "/ingest/" + ep.Source
		}
		if ep.MaxBody <= 0 {
			ep.MaxBody = 16 << 20
		}
		if ep.MaxBacklog <= 0 {
			ep.MaxBacklog = 1_000_000
		}
		if _, dup := h.routes[ep.Path]; dup {
			return nil, fmt.Errorf("ingest: sources %s and %s both take %s", h.routes[ep.Path].Source, ep.Source, ep.Path)
		}
		st, err := js.CreateOrUpdateStream(ctx, StreamConfig(ep.Source))
		if err != nil {
			return nil, fmt.Errorf("ingest: stream %s of source %s: %w", StreamName(ep.Source), ep.Source, err)
		}
		h.routes[ep.Path] = &endpoint{Endpoint: ep, stream: st}
	}
	return h, nil
}

// StreamConfig is the stream that holds the records posted to source: file storage, a
// work queue (a record leaves it when the pipeline acknowledges it), duplicates dropped by
// Nats-Msg-Id within DuplicateWindow.
func StreamConfig(source string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName(source),
		Description: "records posted to the http source " + source,
		Subjects:    []string{Subject(source)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  DuplicateWindow,
	}
}

// MaxBody is the largest body any endpoint takes: the limit for the listener serving h.
func (h *Handler) MaxBody() int64 {
	var n int64
	for _, ep := range h.routes {
		n = max(n, ep.MaxBody)
	}
	return n
}

// Answer is the JSON body of a 202: how many records were stored, and those of them the
// source will refuse (they become its dead letters).
type Answer struct {
	Records     int           `json:"records"`
	DeadLetters int           `json:"dead_letters"`
	Errors      []RecordError `json:"errors,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, ok := h.routes[r.URL.Path]
	if !ok {
		http.Error(w, fmt.Sprintf("no http source takes %s", r.URL.Path), http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST records here", http.StatusMethodNotAllowed)
		return
	}
	backlog, err := ep.backlog(r.Context())
	if err != nil {
		unavailable(w, fmt.Errorf("stream %s: %w", StreamName(ep.Source), err))
		return
	}
	if backlog >= ep.MaxBacklog {
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, fmt.Sprintf("%d records wait for the pipeline (at most %d): try again later", backlog, ep.MaxBacklog), http.StatusTooManyRequests)
		return
	}
	body, err := readBody(w, r, ep.MaxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body over %d bytes", ep.MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	recs, err := split(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	bad, err := check(recs, ep.Schema, "POST "+ep.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := h.store(r.Context(), ep, recs, r.Header.Get("Idempotency-Key")); err != nil {
		unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(Answer{Records: len(recs), DeadLetters: len(bad), Errors: bad}) // the records are stored; a client gone now misses only the summary
}

// unavailable answers 503: the records were not (all) stored and the client should retry.
func unavailable(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, "not stored, try again: "+err.Error(), http.StatusServiceUnavailable)
}

// readBody reads r's body, gunzipped if it says so, up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var in io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer func() { _ = zr.Close() }() // only checks the gzip trailer, which ReadAll already did
		in = http.MaxBytesReader(w, io.NopCloser(zr), limit)
	default:
		return nil, fmt.Errorf("Content-Encoding %q: send gzip or none", enc)
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// backlog is how many records the endpoint's stream holds that the pipeline has not yet
// acknowledged.
func (ep *endpoint) backlog(ctx context.Context) (int64, error) {
	info, err := ep.stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return int64(info.State.Msgs), nil
}

// publishWindow is how many records are in flight to the server at once.
const publishWindow = 4096

// store publishes recs to the endpoint's stream and returns once the server has stored
// every one of them. With key set, record i is named key/i, so a retried request stores
// nothing twice.
func (h *Handler) store(ctx context.Context, ep *endpoint, recs [][]byte, key string) error {
	subject := Subject(ep.Source)
	for start := 0; start < len(recs); start += publishWindow {
		end := min(start+publishWindow, len(recs))
		acks := make([]jetstream.PubAckFuture, 0, end-start)
		for i := start; i < end; i++ {
			m := nats.NewMsg(subject)
			m.Data = recs[i]
			if key != "" {
				m.Header.Set(jetstream.MsgIDHeader, key+"/"+strconv.Itoa(i))
			}
			f, err := h.js.PublishMsgAsync(m)
			if err != nil {
				return fmt.Errorf("store record %d in stream %s: %w", i, StreamName(ep.Source), err)
			}
			acks = append(acks, f)
		}
		for j, f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("store record %d in stream %s: %w", start+j, StreamName(ep.Source), err)
			case <-ctx.Done():
				return fmt.Errorf("store records in stream %s: %w", StreamName(ep.Source), ctx.Err())
			}
		}
	}
	return nil
}
