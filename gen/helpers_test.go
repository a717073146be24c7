package gen

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// txRow is one generated transaction read back from a batch.
type txRow struct {
	id       string
	ts       int64 // ms
	account  string
	card     string
	merchant string
	mcc      int32
	cents    int64
	currency string
	country  string
	channel  string
	lat, lon float64
	geo      bool // lat and lon are set
	fraud    bool
}

// readRows appends the rows of rec to out.
func readRows(t testing.TB, rec arrow.RecordBatch, out []txRow) []txRow {
	t.Helper()
	if !rec.Schema().Equal(schema.Transaction()) {
		t.Fatalf("batch schema %s, want schema.Transaction", rec.Schema())
	}
	col := func(i int) arrow.Array { return rec.Column(i) }
	str := func(i, r int) string { return col(i).(*array.String).Value(r) }
	for r := range int(rec.NumRows()) {
		for _, c := range []int{schema.TxID, schema.TS, schema.AccountID, schema.CardID, schema.MerchantID,
			schema.MCC, schema.AmountCol, schema.Currency, schema.Country, schema.Channel, schema.IsFraud} {
			if col(c).IsNull(r) {
				t.Fatalf("row %d: column %s is null", r, rec.ColumnName(c))
			}
		}
		amount := col(schema.AmountCol).(*array.Decimal128).Value(r)
		if amount.HighBits() != 0 {
			t.Fatalf("row %d: amount %v out of int64 range", r, amount)
		}
		x := txRow{
			id:       str(schema.TxID, r),
			ts:       int64(col(schema.TS).(*array.Timestamp).Value(r)),
			account:  str(schema.AccountID, r),
			card:     str(schema.CardID, r),
			merchant: str(schema.MerchantID, r),
			mcc:      col(schema.MCC).(*array.Int32).Value(r),
			cents:    int64(amount.LowBits()),
			currency: str(schema.Currency, r),
			country:  str(schema.Country, r),
			channel:  str(schema.Channel, r),
			fraud:    col(schema.IsFraud).(*array.Boolean).Value(r),
		}
		latNull, lonNull := col(schema.Lat).IsNull(r), col(schema.Lon).IsNull(r)
		if latNull != lonNull {
			t.Fatalf("row %d: lat null %t but lon null %t", r, latNull, lonNull)
		}
		if !latNull {
			x.geo = true
			x.lat = col(schema.Lat).(*array.Float64).Value(r)
			x.lon = col(schema.Lon).(*array.Float64).Value(r)
		}
		out = append(out, x)
	}
	return out
}

// generate runs cfg in fast mode to its end in batches of batchRows and returns the rows and
// the stats.
func generate(t testing.TB, cfg Config, batchRows int) ([]txRow, Stats) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rows []txRow
	for {
		rec, err := g.Next(context.Background(), memory.DefaultAllocator, batchRows)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.NumRows() == 0 || rec.NumRows() > int64(batchRows) {
			t.Fatalf("batch of %d rows, want 1 to %d", rec.NumRows(), batchRows)
		}
		rows = readRows(t, rec, rows)
		rec.Release()
	}
	return rows, g.Stats()
}

// smallConfig is a quick stream for tests: a smaller world, 200k rows.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Rows = 200_000
	cfg.Accounts = 20_000
	cfg.Merchants = 4_000
	return cfg
}

// fakeClock is a Clock whose time moves only when someone sleeps on it.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.After(c.now) {
		c.now = t
	}
	return nil
}
