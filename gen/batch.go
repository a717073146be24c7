package gen

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/civil"
	"millrace/schema"
)

// maxTxIDLen bounds a tx_id: the prefix and an int64.
const maxTxIDLen = 1 + 19

// build turns rows into a record batch of schema.Transaction, writing every column's buffers
// directly (one pass over the rows, no per-row allocation). Country, currency, mcc and
// coordinates come from the merchant; coordinates only for payments made in person (pos, atm).
func (w *World) build(mem memory.Allocator, rows []row) arrow.RecordBatch {
	n := len(rows)
	txID := newStringColumn(mem, n, n*maxTxIDLen)
	account := newStringColumn(mem, n, n*w.accountIDs.maxLen)
	card := newStringColumn(mem, n, n*w.cardIDs.maxLen)
	merchant := newStringColumn(mem, n, n*w.merchantIDs.maxLen)
	currency := newStringColumn(mem, n, n*3)
	ctry := newStringColumn(mem, n, n*2)
	channel := newStringColumn(mem, n, n*len("transfer"))

	tsBuf := newBuffer(mem, arrow.TimestampTraits.BytesRequired(n))
	ts := arrow.TimestampTraits.CastFromBytes(tsBuf.Bytes())
	mccBuf := newBuffer(mem, arrow.Int32Traits.BytesRequired(n))
	mcc := arrow.Int32Traits.CastFromBytes(mccBuf.Bytes())
	amountBuf := newBuffer(mem, arrow.Decimal128Traits.BytesRequired(n))
	amount := arrow.Decimal128Traits.CastFromBytes(amountBuf.Bytes())
	latBuf := newBuffer(mem, arrow.Float64Traits.BytesRequired(n))
	lat := arrow.Float64Traits.CastFromBytes(latBuf.Bytes())
	lonBuf := newBuffer(mem, arrow.Float64Traits.BytesRequired(n))
	lon := arrow.Float64Traits.CastFromBytes(lonBuf.Bytes())
	geoValid := newBitmap(mem, n)
	geoBits := geoValid.Bytes()
	fraudBuf := newBitmap(mem, n)
	fraud := fraudBuf.Bytes()

	geoNulls := 0
	for i := range rows {
		r := &rows[i]
		m := r.merchant

		txID.appendTxID(i, r.txn)
		ts[i] = arrow.Timestamp(civil.FloorDiv(r.ns, int64(1e6)))
		account.appendID(i, &w.accountIDs, r.account)
		card.appendID(i, &w.cardIDs, r.card)
		merchant.appendID(i, &w.merchantIDs, m)
		mcc[i] = categories[w.merCat[m]].mcc
		amount[i] = decimal128.FromI64(r.amount)
		t := &w.text[w.merCountry[m]]
		currency.appendWord(i, t.currency, 3)
		ctry.appendWord(i, t.country, 2)
		channel.appendWord(i, w.channelText[r.channel].word, w.channelText[r.channel].len)
		if r.channel == chanPOS || r.channel == chanATM {
			lat[i], lon[i] = w.merLat[m], w.merLon[m]
			bitutil.SetBit(geoBits, i)
		} else {
			lat[i], lon[i] = 0, 0
			geoNulls++
		}
		if r.scenario != 0 {
			bitutil.SetBit(fraud, i)
		}
	}

	cols := [...]arrow.Array{
		schema.TxID:       txID.finish(n),
		schema.TS:         fixedColumn(schema.Timestamp, n, nil, tsBuf, 0),
		schema.AccountID:  account.finish(n),
		schema.CardID:     card.finish(n),
		schema.MerchantID: merchant.finish(n),
		schema.MCC:        fixedColumn(arrow.PrimitiveTypes.Int32, n, nil, mccBuf, 0),
		schema.AmountCol:  fixedColumn(schema.Amount, n, nil, amountBuf, 0),
		schema.Currency:   currency.finish(n),
		schema.Country:    ctry.finish(n),
		schema.Channel:    channel.finish(n),
		schema.Lat:        fixedColumn(arrow.PrimitiveTypes.Float64, n, geoValid, latBuf, geoNulls),
		schema.Lon:        fixedColumn(arrow.PrimitiveTypes.Float64, n, geoValid, lonBuf, geoNulls),
		schema.IsFraud:    fixedColumn(arrow.FixedWidthTypes.Boolean, n, nil, fraudBuf, 0),
	}
	for _, b := range []*memory.Buffer{tsBuf, mccBuf, amountBuf, latBuf, lonBuf, geoValid, fraudBuf} {
		b.Release()
	}
	rec := array.NewRecordBatch(schema.Transaction(), cols[:], int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// newBuffer allocates a buffer of size bytes from mem.
func newBuffer(mem memory.Allocator, size int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(size)
	return b
}

// newBitmap allocates a cleared bitmap of n bits.
func newBitmap(mem memory.Allocator, n int) *memory.Buffer {
	b := newBuffer(mem, int(bitutil.BytesForBits(int64(n))))
	clear(b.Bytes())
	return b
}

// fixedColumn wraps the buffers of a fixed-width column into an array; it takes its own
// references, so the caller still releases its buffers.
func fixedColumn(t arrow.DataType, n int, valid, values *memory.Buffer, nulls int) arrow.Array {
	if nulls == 0 {
		valid = nil
	}
	d := array.NewData(t, n, []*memory.Buffer{valid, values}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// stringColumn fills the offsets and bytes of a string column with no nulls.
type stringColumn struct {
	offBuf  *memory.Buffer
	dataBuf *memory.Buffer
	off     []int32
	data    []byte
	pos     int32
}

// newStringColumn allocates a column of n strings holding at most maxBytes bytes together.
func newStringColumn(mem memory.Allocator, n, maxBytes int) stringColumn {
	c := stringColumn{
		offBuf:  newBuffer(mem, arrow.Int32Traits.BytesRequired(n+1)),
		dataBuf: newBuffer(mem, maxBytes+8),
	}
	c.off = arrow.Int32Traits.CastFromBytes(c.offBuf.Bytes())
	c.data = c.dataBuf.Bytes()
	c.off[0] = 0
	return c
}

// appendWord appends the first l bytes of a little-endian word by storing all 8 (the column
// keeps 8 bytes of slack at its end, and the next value overwrites the excess).
func (c *stringColumn) appendWord(i int, w uint64, l int) {
	binary.LittleEndian.PutUint64(c.data[c.pos:], w)
	c.pos += int32(l)
	c.off[i+1] = c.pos
}

// appendID appends entity e's identifier from t.
func (c *stringColumn) appendID(i int, t *idTable, e int32) {
	if t.words != nil {
		w := t.words[e]
		c.appendWord(i, w, int(w>>56))
		return
	}
	c.pos += int32(copy(c.data[c.pos:], t.get(e)))
	c.off[i+1] = c.pos
}

func (c *stringColumn) appendTxID(i int, n int64) {
	c.pos += int32(putTxID(c.data[c.pos:], n))
	c.off[i+1] = c.pos
}

// finish trims the bytes to what was written and returns the array of n strings.
func (c *stringColumn) finish(n int) arrow.Array {
	c.dataBuf.ResizeNoShrink(int(c.pos))
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, c.offBuf, c.dataBuf}, nil, 0, 0)
	c.offBuf.Release()
	c.dataBuf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}
