package exchange

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/zeebo/xxh3"
)

// fingerprint is the fingerprint of schema as data records carry it: 16 hex digits of the
// xxh3 hash of its IPC schema message. A schema with a dictionary-encoded column is refused.
func fingerprint(schema *arrow.Schema) (string, []byte, error) {
	for _, f := range schema.Fields() {
		if hasDictionary(f.Type) {
			return "", nil, fmt.Errorf("column %q is dictionary-encoded (%s): the exchange carries plain columns only", f.Name, f.Type)
		}
	}
	p := ipc.GetSchemaPayload(schema, memory.DefaultAllocator)
	defer p.Release()
	var buf bytes.Buffer
	if _, err := p.WritePayload(&buf); err != nil {
		return "", nil, fmt.Errorf("encode schema: %w", err)
	}
	return fmt.Sprintf("%016x", xxh3.Hash(buf.Bytes())), buf.Bytes(), nil
}

// hasDictionary says whether t is or holds a dictionary type.
func hasDictionary(t arrow.DataType) bool {
	switch t := t.(type) {
	case *arrow.DictionaryType:
		return true
	case arrow.NestedType:
		for _, f := range t.Fields() {
			if hasDictionary(f.Type) {
				return true
			}
		}
	}
	return false
}

// appendMessage appends rec as one IPC record batch message, without its schema.
func appendMessage(buf *bytes.Buffer, rec arrow.RecordBatch) error {
	p, err := ipc.GetRecordBatchPayload(rec)
	if err != nil {
		return err
	}
	defer p.Release()
	_, err = p.WritePayload(buf)
	return err
}

// decoder turns the values of data records back into batches of one schema. It keeps one
// IPC stream reader, gives it the schema message once and then each record's message in
// turn, so the schema is parsed once, not per record. Batches share the values' bytes.
type decoder struct {
	schema    *arrow.Schema
	print     string
	schemaMsg []byte
	feed      feed
	rd        *ipc.Reader
}

func newDecoder(schema *arrow.Schema) (*decoder, error) {
	print, schemaMsg, err := fingerprint(schema)
	if err != nil {
		return nil, err
	}
	d := &decoder{schema: schema, print: print, schemaMsg: schemaMsg}
	if err := d.reset(); err != nil {
		return nil, err
	}
	return d, nil
}

// reset starts a new stream reader: at first, and after an error left the last unusable.
func (d *decoder) reset() error {
	if d.rd != nil {
		d.rd.Release()
		d.rd = nil
	}
	msg, err := message(d.schemaMsg)
	if err != nil {
		return fmt.Errorf("read back the schema message: %w", err)
	}
	defer msg.Release()
	d.feed.next = msg
	if d.rd, err = ipc.NewReaderFromMessageReader(&d.feed, ipc.WithSchema(d.schema)); err != nil {
		return fmt.Errorf("start the stream reader: %w", err)
	}
	return nil
}

// decode decodes a data record's value written with the schema of fingerprint print. The
// caller releases the batch.
func (d *decoder) decode(print string, value []byte) (arrow.RecordBatch, error) {
	if print != d.print {
		return nil, fmt.Errorf("written with schema %s, read with schema %s (%s)", orNone(print), d.print, d.schema)
	}
	msg, err := message(value)
	if err != nil {
		return nil, err
	}
	defer msg.Release()
	if msg.Type() != ipc.MessageRecordBatch {
		return nil, fmt.Errorf("an Arrow IPC %s message, not a record batch", msg.Type())
	}
	d.feed.next = msg
	if !d.rd.Next() {
		err := d.rd.Err()
		if err == nil {
			err = errors.New("no record batch")
		}
		d.feed.next = nil
		return nil, errors.Join(fmt.Errorf("decode the record batch: %w", err), d.reset())
	}
	rec := d.rd.RecordBatch()
	rec.Retain()
	return rec, nil
}

func (d *decoder) close() {
	d.rd.Release()
}

func orNone(print string) string {
	if print == "" {
		return "(none)"
	}
	return print
}

// ipcContinuation starts every encapsulated IPC message.
const ipcContinuation = 0xFFFFFFFF

// message parses one encapsulated IPC message that is the whole of b: the continuation
// marker, the metadata's length, the metadata, then exactly the body it announces. The
// message shares b's bytes.
func message(b []byte) (msg *ipc.Message, err error) {
	if len(b) < 8 || binary.LittleEndian.Uint32(b) != ipcContinuation {
		return nil, errors.New("not an Arrow IPC message")
	}
	n := int64(int32(binary.LittleEndian.Uint32(b[4:])))
	if n < 8 || 8+n > int64(len(b)) {
		return nil, fmt.Errorf("an Arrow IPC message of %d bytes announces %d bytes of metadata", len(b), n)
	}
	defer func() {
		if r := recover(); r != nil { // the metadata is not a flatbuffer message
			msg, err = nil, fmt.Errorf("an Arrow IPC message with broken metadata: %v", r)
		}
	}()
	msg = ipc.NewMessage(memory.NewBufferBytes(b[8:8+n]), memory.NewBufferBytes(b[8+n:]))
	if body := int64(len(b)) - 8 - n; msg.BodyLen() != body {
		msg.Release()
		return nil, fmt.Errorf("an Arrow IPC message announcing a body of %d bytes holds %d", msg.BodyLen(), body)
	}
	return msg, nil
}

// feed is the message source of the decoder's stream reader: it yields the one message it
// was given last, and io.EOF when it has none. The decoder owns the messages.
type feed struct {
	next *ipc.Message
}

// Message yields the message given last, once.
func (f *feed) Message() (*ipc.Message, error) {
	msg := f.next
	if msg == nil {
		return nil, io.EOF
	}
	f.next = nil
	return msg, nil
}

// Retain does nothing: the decoder owns the feed and the messages.
func (f *feed) Retain() {}

// Release does nothing: the decoder owns the feed and the messages.
func (f *feed) Release() {}

// watermarkValue is a watermark as the header holds it.
func watermarkValue(wm int64) []byte { return strconv.AppendInt(nil, wm, 10) }
