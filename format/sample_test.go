package format

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/schema"
)

// sampleTransactions builds a transaction batch of n rows whose first rows hit the awkward
// cases every format must carry: nulls, unicode and characters that need quoting or escaping,
// decimals at the limits of decimal(18,2), timestamps before the epoch and far in the future.
func sampleTransactions(tb testing.TB, mem memory.Allocator, n int) arrow.RecordBatch {
	tb.Helper()
	b := array.NewRecordBuilder(mem, schema.Transaction())
	defer b.Release()
	maxAmount := decimal128.FromI64(999_999_999_999_999_999) // 9999999999999999.99
	strs := []string{"plain", "Zürich ☕ 東京", `quote " and \ backslash`, "comma, and\nnewline", "tab\there", "", "🙂\u2028"}
	amounts := []decimal128.Num{maxAmount, maxAmount.Negate(), decimal128.FromI64(1), decimal128.FromI64(0), decimal128.FromI64(-5)}
	times := []int64{0, -86_400_000 * 365, 1_700_000_000_123, 253_402_300_799_999} // last: 9999-12-31T23:59:59.999Z
	for i := range n {
		b.Field(schema.TxID).(*array.StringBuilder).Append(strs[i%len(strs)] + "-" + itoa(i))
		var ts int64
		if i < len(times) {
			ts = times[i]
		} else {
			ts = 1_700_000_000_000 + int64(i)*137
		}
		b.Field(schema.TS).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
		b.Field(schema.AccountID).(*array.StringBuilder).Append("a" + itoa(i%97))
		b.Field(schema.CardID).(*array.StringBuilder).Append(strs[(i+1)%len(strs)])
		b.Field(schema.MerchantID).(*array.StringBuilder).Append("m" + itoa(i%13))
		b.Field(schema.MCC).(*array.Int32Builder).Append(int32(5000 + i%900))
		if i < len(amounts) {
			b.Field(schema.AmountCol).(*array.Decimal128Builder).Append(amounts[i])
		} else {
			b.Field(schema.AmountCol).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i*7919%1_000_000) - 1000))
		}
		b.Field(schema.Currency).(*array.StringBuilder).Append([]string{"EUR", "USD", "GBP"}[i%3])
		b.Field(schema.Country).(*array.StringBuilder).Append([]string{"DE", "US", "GB", "CH"}[i%4])
		b.Field(schema.Channel).(*array.StringBuilder).Append(schema.Channels[i%len(schema.Channels)])
		if i%5 == 2 {
			b.Field(schema.Lat).(*array.Float64Builder).AppendNull()
			b.Field(schema.Lon).(*array.Float64Builder).AppendNull()
		} else {
			b.Field(schema.Lat).(*array.Float64Builder).Append(47.376887 + float64(i)/1e4)
			b.Field(schema.Lon).(*array.Float64Builder).Append(-8.541694 - float64(i)/3e3)
		}
		switch i % 3 {
		case 0:
			b.Field(schema.IsFraud).(*array.BooleanBuilder).AppendNull()
		default:
			b.Field(schema.IsFraud).(*array.BooleanBuilder).Append(i%3 == 1)
		}
	}
	return b.NewRecordBatch()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf [20]byte
	p := len(buf)
	for ; i > 0; i /= 10 {
		p--
		buf[p] = byte('0' + i%10)
	}
	return string(buf[p:])
}
