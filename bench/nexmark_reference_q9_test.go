package bench

import (
	"encoding/binary"
	"testing"
)

// referenceQ9 pairs each auction with its winning bid: of the bids on it made from its
// date_time to its expires, both included, the highest; of equal prices the earliest; of
// those, the one whose output row encodes to the smaller bytes, as top breaks the ties its
// columns leave (1 then the little-endian value of an integer or timestamp, 1, the length
// as a varint and the bytes of a string).
func referenceQ9(_ *testing.T, ev nxEvents) []string {
	byAuction := map[int64][]nxBid{}
	for _, b := range ev.bids {
		byAuction[b.auction] = append(byAuction[b.auction], b)
	}
	var out []string
	for _, a := range ev.auctions {
		var win []any
		var winBytes string
		var best nxBid
		for _, b := range byAuction[a.id] {
			if b.t < a.t || b.t > a.expires {
				continue
			}
			cols := []any{a.id, a.item, a.desc, a.initial, a.reserve, a.t, a.expires, a.seller, a.category, a.extra,
				b.auction, b.bidder, b.price, b.t, b.extra}
			enc := encodeRow(cols)
			if win == nil || b.price > best.price || b.price == best.price && (b.t < best.t || b.t == best.t && enc < winBytes) {
				win, winBytes, best = cols, enc, b
			}
		}
		if win != nil {
			out = append(out, row(win...))
		}
	}
	return out
}

// encodeRow encodes int64 and string columns as the keyed state does.
func encodeRow(cols []any) string {
	var e []byte
	for _, c := range cols {
		e = append(e, 1)
		switch v := c.(type) {
		case int64:
			e = binary.LittleEndian.AppendUint64(e, uint64(v))
		case string:
			e = append(binary.AppendUvarint(e, uint64(len(v))), v...)
		}
	}
	return string(e)
}
