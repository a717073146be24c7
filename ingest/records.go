package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
)

// RecordError says why one record of a request cannot be decoded. Index counts the
// request's records from 0 (NDJSON: non-blank lines; a JSON array: its elements).
type RecordError struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// split cuts a body into its records, each one line of compact JSON: the elements of a JSON
// array when the body starts with '[', else the non-blank lines of NDJSON. A JSON array that
// does not parse is an error for the whole body; a bad NDJSON line is a record like any
// other, which check then refuses.
func split(body []byte) ([][]byte, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return splitArray(trimmed)
	}
	var recs [][]byte
	for line := range bytes.Lines(body) {
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		recs = append(recs, line)
	}
	return recs, nil
}

// splitArray returns the elements of a JSON array, each compacted to one line.
func splitArray(body []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("JSON array: %w", err)
	}
	var recs [][]byte
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("JSON array: element %d: %w", len(recs), err)
		}
		var line bytes.Buffer
		if err := json.Compact(&line, raw); err != nil {
			return nil, fmt.Errorf("JSON array: element %d: %w", len(recs), err)
		}
		recs = append(recs, line.Bytes())
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("JSON array: after element %d: %w", len(recs), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("JSON array: something follows the closing ]")
	}
	return recs, nil
}

// check decodes recs as the pipeline's source will, against s, and returns the records it
// refuses with why. name is what dead letters call the input.
func check(recs [][]byte, s *arrow.Schema, name string) ([]RecordError, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	r, err := format.NewJSONLReader(bytes.NewReader(bytes.Join(recs, []byte{'\n'})), name, s, format.ReadOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var bad []RecordError
	for {
		batch, dead, err := r.Read()
		if errors.Is(err, io.EOF) {
			return bad, nil
		}
		if err != nil {
			return nil, err
		}
		if batch != nil {
			batch.Release()
		}
		for _, d := range dead {
			bad = append(bad, RecordError{Index: int(d.Line) - 1, Reason: d.Reason})
		}
	}
}
