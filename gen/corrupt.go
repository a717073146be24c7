package gen

import (
	"bytes"
	"fmt"

	"millrace/format"
	"millrace/schema"
)

// corruptKind is one way to mangle an encoded record so that a decoder must refuse it. apply
// appends the mangled form of line (one record, ending in a newline) to dst. Lines come from
// format's row encoders over generated rows, whose values never need quoting or escaping.
type corruptKind struct {
	name  string
	jsonl bool // applies to JSONL
	csv   bool // applies to CSV
	apply func(k format.Kind, r *rng, dst, line []byte) []byte
}

// corruptKinds is the table of corruptions, each named for what a decoder sees.
var corruptKinds = [...]corruptKind{
	{"truncated", true, true, truncate},
	{"amount_locale", true, true, amountLocale},
	{"amount_precision", true, true, amountPrecision},
	{"amount_overflow", true, true, amountOverflow},
	{"ts_invalid", true, true, setValue(colTS, "2024-13-45T25:00:00Z", true)},
	{"ts_word", true, true, setValue(colTS, "yesterday", true)},
	{"missing_field", true, false, dropTxID},
	{"null_field", true, true, nullTxID},
	{"wrong_type", true, true, setValue(colMCC, "abc", true)},
	{"invalid_utf8", true, true, invalidUTF8},
	{"garbage", true, true, garbage},
	{"csv_field_count", false, true, fieldCount},
	{"csv_unterminated_quote", false, true, unterminatedQuote},
}

// CorruptKinds names the corruptions Write applies to records of a text format, in table
// order; none for other formats.
func CorruptKinds(kind format.Kind) []string {
	var names []string
	for _, c := range corruptKinds {
		if c.appliesTo(kind) {
			names = append(names, c.name)
		}
	}
	return names
}

func (c *corruptKind) appliesTo(kind format.Kind) bool {
	return (kind == format.JSONL && c.jsonl) || (kind == format.CSV && c.csv)
}

// CorruptRecord appends to dst the record line (one JSONL or CSV record of schema.Transaction
// as format's row encoders write it, ending in a newline) mangled by the named corruption.
// seed picks among the variants a corruption has (where to cut, which garbage).
func CorruptRecord(dst, line []byte, kind format.Kind, name string, seed int64) ([]byte, error) {
	for i := range corruptKinds {
		c := &corruptKinds[i]
		if c.name == name {
			if !c.appliesTo(kind) {
				return dst, fmt.Errorf("gen: corruption %q does not apply to %s", name, kind)
			}
			r := newRNG(seed, streamCorrupt, 0)
			return c.apply(kind, &r, dst, line), nil
		}
	}
	return dst, fmt.Errorf("gen: unknown corruption %q (known: %v)", name, CorruptKinds(kind))
}

// corruptor mangles a CorruptRate share of the records of one text output.
type corruptor struct {
	kind  format.Kind
	rate  float64
	r     rng
	kinds []int // indexes into corruptKinds that apply to kind
	buf   []byte
	count []int64 // per entry of kinds
}

func newCorruptor(cfg Config, kind format.Kind) *corruptor {
	c := &corruptor{kind: kind, rate: cfg.CorruptRate, r: newRNG(cfg.Seed, streamCorrupt, cfg.Partition)}
	for i := range corruptKinds {
		if corruptKinds[i].appliesTo(kind) {
			c.kinds = append(c.kinds, i)
		}
	}
	c.count = make([]int64, len(c.kinds))
	return c
}

// maybe decides whether the record at buf[start:] (the last one appended) is corrupted and, if
// so, replaces it in buf by its mangled form. It returns the extended buf.
func (c *corruptor) maybe(buf []byte, start int) []byte {
	if c.rate == 0 || c.r.float() >= c.rate {
		return buf
	}
	k := c.r.intn(len(c.kinds))
	c.count[k]++
	c.buf = corruptKinds[c.kinds[k]].apply(c.kind, &c.r, c.buf[:0], buf[start:])
	return append(buf[:start], c.buf...)
}

// stats returns the corruption counts by kind name and in total.
func (c *corruptor) stats() (map[string]int64, int64) {
	by := make(map[string]int64, len(c.kinds))
	var total int64
	for i, k := range c.kinds {
		if c.count[i] > 0 {
			by[corruptKinds[k].name] = c.count[i]
			total += c.count[i]
		}
	}
	return by, total
}

// span locates a column's value in a record: for JSONL the value of its key (a string value's
// span includes its quotes), for CSV its field. It returns -1s when it is absent.
func span(k format.Kind, line []byte, c column) (start, end int) {
	if k == format.JSONL {
		p := bytes.Index(line, []byte(`"`+c.key+`":`))
		if p < 0 {
			return -1, -1
		}
		start = p + len(c.key) + 3
		if start < len(line) && line[start] == '"' {
			return start, start + 2 + bytes.IndexByte(line[start+1:], '"')
		}
		end = start
		for end < len(line) && line[end] != ',' && line[end] != '}' {
			end++
		}
		return start, end
	}
	start = 0
	for range c.pos {
		p := bytes.IndexByte(line[start:], ',')
		if p < 0 {
			return -1, -1
		}
		start += p + 1
	}
	end = start
	for end < len(line) && line[end] != ',' && line[end] != '\n' {
		end++
	}
	return start, end
}

// column names a column of schema.Transaction by its JSON key and its CSV position.
type column struct {
	key string
	pos int
}

// The columns corruptions touch.
var (
	colTxID     = column{"tx_id", schema.TxID}
	colTS       = column{"ts", schema.TS}
	colMerchant = column{"merchant_id", schema.MerchantID}
	colMCC      = column{"mcc", schema.MCC}
	colAmount   = column{"amount", schema.AmountCol}
	colCurrency = column{"currency", schema.Currency}
)

// replace appends line with the value of column c replaced by v, quoted as a string when
// quote is set (a JSON string; in CSV only if v holds a comma), or line unchanged when the
// column is not found.
func replace(k format.Kind, dst, line []byte, c column, v []byte, quote bool) []byte {
	s, e := span(k, line, c)
	if s < 0 {
		return append(dst, line...)
	}
	dst = append(dst, line[:s]...)
	if quote && (k == format.JSONL || bytes.IndexByte(v, ',') >= 0) {
		dst = append(append(append(dst, '"'), v...), '"')
	} else {
		dst = append(dst, v...)
	}
	return append(dst, line[e:]...)
}

// value returns the text of column c in line, without JSON quotes.
func value(k format.Kind, line []byte, c column) []byte {
	s, e := span(k, line, c)
	if s < 0 {
		return nil
	}
	v := line[s:e]
	if len(v) >= 2 && v[0] == '"' {
		v = v[1 : len(v)-1]
	}
	return v
}

func setValue(c column, v string, quote bool) func(format.Kind, *rng, []byte, []byte) []byte {
	return func(k format.Kind, _ *rng, dst, line []byte) []byte {
		return replace(k, dst, line, c, []byte(v), quote)
	}
}

// truncate cuts the record short: before its closing brace (JSONL), or before its last
// separator so that fields are missing (CSV).
func truncate(k format.Kind, r *rng, dst, line []byte) []byte {
	body := bytes.TrimSuffix(line, []byte("\n"))
	limit := len(body) - 1 // JSONL: keep at most everything but the closing brace
	if k == format.CSV {
		limit = bytes.LastIndexByte(body, ',')
	}
	if limit < 1 {
		return append(dst, "\"\n"...) // cannot happen for generated records; still malformed
	}
	return append(append(dst, body[:1+r.intn(limit)]...), '\n')
}

// amountLocale writes the amount with a decimal comma and the currency: "12,50 EUR".
func amountLocale(k format.Kind, _ *rng, dst, line []byte) []byte {
	v := bytes.Replace(value(k, line, colAmount), []byte("."), []byte(","), 1)
	v = append(append(v, ' '), value(k, line, colCurrency)...)
	return replace(k, dst, line, colAmount, v, true)
}

// amountPrecision adds a third, non-zero decimal: 12.505.
func amountPrecision(k format.Kind, r *rng, dst, line []byte) []byte {
	v := append(bytes.Clone(value(k, line, colAmount)), byte('1'+r.intn(9)))
	return replace(k, dst, line, colAmount, v, false)
}

// amountOverflow writes an amount of 18 integer digits, beyond decimal(18,2).
func amountOverflow(k format.Kind, r *rng, dst, line []byte) []byte {
	v := fmt.Appendf(nil, "%d%017d.%02d", 1+r.intn(9), r.intn(1e17), r.intn(100))
	return replace(k, dst, line, colAmount, v, false)
}

// dropTxID removes the required tx_id from a JSON record.
func dropTxID(k format.Kind, _ *rng, dst, line []byte) []byte {
	s, e := span(k, line, colTxID)
	if s < 0 {
		return append(dst, line...)
	}
	keyStart := s - len(colTxID.key) - 3 // the quoted key and the colon
	if e < len(line) && line[e] == ',' {
		e++
	}
	return append(append(dst, line[:keyStart]...), line[e:]...)
}

// nullTxID sets the required tx_id to null: JSON null, or an empty CSV field.
func nullTxID(k format.Kind, _ *rng, dst, line []byte) []byte {
	if k == format.JSONL {
		return replace(k, dst, line, colTxID, []byte("null"), false)
	}
	return replace(k, dst, line, colTxID, nil, false)
}

// invalidUTF8 puts bytes that are not UTF-8 into the merchant_id.
func invalidUTF8(k format.Kind, _ *rng, dst, line []byte) []byte {
	v := value(k, line, colMerchant)
	if len(v) == 0 {
		return replace(k, dst, line, colMerchant, []byte{0xff, 0xfe}, true)
	}
	bad := append([]byte{v[0], 0xff, 0xfe}, v[1:]...)
	return replace(k, dst, line, colMerchant, bad, true)
}

// garbageBytes are the characters of garbage lines: no separators, quotes or brackets, so a
// garbage line is neither JSON nor a CSV record of several fields.
const garbageBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ;:!?#*~^%$@&=+/|<>"

// garbage replaces the record by 8 to 60 random characters that start with a letter.
func garbage(_ format.Kind, r *rng, dst, _ []byte) []byte {
	n := r.between(8, 60)
	dst = append(dst, garbageBytes[r.intn(52)])
	for range n - 1 {
		dst = append(dst, garbageBytes[r.intn(len(garbageBytes))])
	}
	return append(dst, '\n')
}

// fieldCount adds a field to a CSV record or drops its last one.
func fieldCount(_ format.Kind, r *rng, dst, line []byte) []byte {
	body := bytes.TrimSuffix(line, []byte("\n"))
	if r.intn(2) == 0 {
		return append(append(append(dst, body...), ",extra"...), '\n')
	}
	return append(append(dst, body[:bytes.LastIndexByte(body, ',')]...), '\n')
}

// unterminatedQuote opens a quote at the start of the CSV merchant_id field and never closes
// it.
func unterminatedQuote(k format.Kind, _ *rng, dst, line []byte) []byte {
	s, _ := span(k, line, colMerchant)
	if s < 0 {
		return append(dst, line...)
	}
	return append(append(append(dst, line[:s]...), '"'), line[s:]...)
}
