package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// bytePages decodes the pages of a flat BYTE_ARRAY column chunk itself, for the encodings
// nearly every writer uses: plain values, or a plain dictionary with RLE/bit-packed indices,
// and RLE definition levels. Each value is copied once, from the page or the dictionary into
// the batch's data buffer; the file package's column reader would first make a slice header
// of every value (its dictionary converted into such headers too), which cost as much as the
// copy itself. Chunks with other encodings are read through that column reader.
type bytePages struct {
	pages  file.PageReader
	maxDef int16

	dictOffsets []int32 // the chunk's dictionary: value k is dictData[dictOffsets[k]:dictOffsets[k+1]]
	dictData    []byte  // followed by wordSlack bytes of padding, so that every value moves as words
	// dictArray is the same dictionary as a string array's Data, which the batches read
	// with it carry beside their codes (see dictcode).
	dictArray *array.Data

	left    int    // levels of the current data page not yet read
	defs    hybrid // its definition levels
	indices hybrid // its dictionary indices, when dict is set
	dict    bool   // the page's values are dictionary indices
	plain   []byte // its plain values not yet read, when dict is not set

	levels []int32 // scratch: definition levels of one stretch of a page
	codes  []int32 // scratch: dictionary indices of one stretch of a page
}

// pagesDecodable reports whether bytePages decodes every page of the column chunk cc.
func pagesDecodable(cc *metadata.ColumnChunkMetaData) bool {
	for _, e := range cc.Encodings() {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict, parquet.Encodings.RLE:
		default:
			return false
		}
	}
	return true
}

// read appends n values to b, their definition levels to defs when the column is optional,
// and the dictionary index of each to codes (len(dictionary) for a null). It reports whether
// every value came from the dictionary, which makes codes whole.
func (p *bytePages) read(n int, defs []int16, b *bytesBuilder, codes []int32) (coded bool, err error) {
	coded = true
	for done := 0; done < n; {
		if p.left == 0 {
			if err := p.nextPage(); err != nil {
				return false, fmt.Errorf("after %d of %d values: %w", done, n, err)
			}
			continue
		}
		k := min(n-done, p.left)
		var d []int16
		if defs != nil {
			d = defs[done : done+k]
		}
		coded = coded && p.dict
		if err := p.readStretch(k, d, b, codes[done:done+k]); err != nil {
			return false, err
		}
		p.left -= k
		done += k
	}
	return coded, nil
}

// readStretch appends k values of the current page to b, and to codes their dictionary
// indexes when the page holds indexes.
func (p *bytePages) readStretch(k int, defs []int16, b *bytesBuilder, codes []int32) error {
	valid := k
	if defs != nil {
		p.levels = slices.Grow(p.levels[:0], k)[:k]
		if err := p.defs.fill(p.levels); err != nil {
			return fmt.Errorf("definition levels: %w", err)
		}
		valid = 0
		for i, l := range p.levels {
			defs[i] = int16(l)
			if int16(l) == p.maxDef {
				valid++
			}
		}
	}
	if p.dict {
		return p.gather(defs, valid, b, codes)
	}
	for i := range k {
		if defs == nil || defs[i] == p.maxDef {
			if len(p.plain) < 4 {
				return errors.New("plain values end early")
			}
			l := binary.LittleEndian.Uint32(p.plain)
			if uint64(l) > uint64(len(p.plain)-4) {
				return fmt.Errorf("a plain value of %d bytes runs past its page", l)
			}
			if err := b.reserve(int(l)); err != nil {
				return err
			}
			b.appendReserved(p.plain, 4, 4+int(l))
			p.plain = p.plain[4+l:]
		}
		b.endValue()
	}
	return nil
}

// gather appends the dictionary values of the next valid indices of the page to b, a slot
// for each level of defs (null slots take no bytes), and each slot's index to codes, the
// dictionary's length for a null slot.
func (p *bytePages) gather(defs []int16, valid int, b *bytesBuilder, codes []int32) error {
	p.codes = slices.Grow(p.codes[:0], valid)[:valid]
	if err := p.indices.fill(p.codes); err != nil {
		return fmt.Errorf("dictionary indices: %w", err)
	}
	offsets, entries, size := p.dictOffsets, uint32(len(p.dictOffsets)-1), 0
	for _, c := range p.codes {
		if uint32(c) >= entries {
			return fmt.Errorf("dictionary index %d, the dictionary has %d values", c, entries)
		}
		size += int(offsets[c+1] - offsets[c])
	}
	if err := b.reserve(size); err != nil {
		return err
	}
	j := 0
	for i := range max(len(defs), valid) {
		if defs == nil || defs[i] == p.maxDef {
			c := p.codes[j]
			b.appendReserved(p.dictData, int(offsets[c]), int(offsets[c+1]))
			codes[i] = c
			j++
		} else {
			codes[i] = int32(entries)
		}
		b.endValue()
	}
	return nil
}

// nextPage makes the next data page of the chunk the current one, reading the dictionary
// page on the way.
func (p *bytePages) nextPage() error {
	for p.pages.Next() {
		switch pg := p.pages.Page().(type) {
		case *file.DictionaryPage:
			if err := p.setDictionary(pg); err != nil {
				return err
			}
		case *file.DataPageV1:
			data := pg.Data()
			if p.maxDef > 0 {
				if pg.DefinitionLevelEncoding() != parquet.Encodings.RLE {
					return fmt.Errorf("definition levels encoded %s", pg.DefinitionLevelEncoding())
				}
				if len(data) < 4 || uint64(binary.LittleEndian.Uint32(data)) > uint64(len(data)-4) {
					return errors.New("data page too short for its definition levels")
				}
				l := 4 + int(binary.LittleEndian.Uint32(data))
				p.defs = newHybrid(data[4:l], p.maxDef)
				data = data[l:]
			}
			return p.startValues(parquet.Encoding(pg.Encoding()), int(pg.NumValues()), data)
		case *file.DataPageV2:
			data := pg.Data()
			rep, def := int(pg.RepetitionLevelByteLen()), int(pg.DefinitionLevelByteLen())
			if rep < 0 || def < 0 || rep+def > len(data) {
				return errors.New("data page too short for its levels")
			}
			p.defs = newHybrid(data[rep:rep+def], p.maxDef)
			return p.startValues(parquet.Encoding(pg.Encoding()), int(pg.NumValues()), data[rep+def:])
		}
	}
	if err := p.pages.Err(); err != nil {
		return err
	}
	return errors.New("column chunk ends early")
}

// setDictionary decodes the chunk's dictionary page; its bytes are copied, since the page
// is released when the next one is read.
func (p *bytePages) setDictionary(pg *file.DictionaryPage) error {
	if p.dictOffsets != nil {
		return errors.New("a second dictionary page in one column chunk")
	}
	if e := parquet.Encoding(pg.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
		return fmt.Errorf("dictionary page encoded %s", e)
	}
	data, n := pg.Data(), int(pg.NumValues())
	if n < 0 || n > len(data)/4 {
		return fmt.Errorf("dictionary page of %d bytes cannot hold %d values", len(data), n)
	}
	p.dictOffsets = make([]int32, n+1)
	p.dictData = make([]byte, 0, len(data)-4*n+wordSlack)
	for k := range n {
		if len(data) < 4 || uint64(binary.LittleEndian.Uint32(data)) > uint64(len(data)-4) {
			return fmt.Errorf("dictionary page ends within value %d of %d", k, n)
		}
		l := 4 + int(binary.LittleEndian.Uint32(data))
		p.dictData = append(p.dictData, data[4:l]...)
		p.dictOffsets[k+1] = int32(len(p.dictData))
		data = data[l:]
	}
	p.dictArray = array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(p.dictOffsets)),
		memory.NewBufferBytes(p.dictData)}, nil, 0, 0)
	p.dictData = append(p.dictData, make([]byte, wordSlack)...)
	return nil
}

// startValues begins the values of a data page of levels levels encoded as enc.
func (p *bytePages) startValues(enc parquet.Encoding, levels int, data []byte) error {
	if levels < 0 {
		return fmt.Errorf("a data page of %d values", levels)
	}
	p.left = levels
	switch enc {
	case parquet.Encodings.Plain:
		p.dict, p.plain = false, data
	case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
		if p.dictOffsets == nil {
			return errors.New("a dictionary-encoded data page before any dictionary page")
		}
		if len(data) < 1 || data[0] > 32 {
			return errors.New("dictionary indices without a bit width of 0 to 32")
		}
		p.dict, p.indices = true, hybrid{data: data[1:], width: uint(data[0])}
	default:
		return fmt.Errorf("values encoded %s", enc)
	}
	return nil
}

// hybrid reads Parquet's RLE/bit-packed hybrid encoding of small integers (definition levels,
// dictionary indices): runs of one repeated value, and groups of eight values packed in width
// bits each, least significant bit first.
type hybrid struct {
	data   []byte // the runs not yet started
	width  uint   // bits per value, 0 to 32
	repeat int    // values left of the current repeated run
	value  int32  // the repeated run's value
	packed []byte // the current packed run's bytes
	bit    uint   // the next value's first bit in packed
	npack  int    // values left of the current packed run
}

// newHybrid reads levels up to maxLevel from data.
func newHybrid(data []byte, maxLevel int16) hybrid {
	return hybrid{data: data, width: uint(bits.Len16(uint16(maxLevel)))}
}

// fill decodes len(dst) values into dst.
func (h *hybrid) fill(dst []int32) error {
	for i := 0; i < len(dst); {
		switch {
		case h.repeat > 0:
			k := min(h.repeat, len(dst)-i)
			v := h.value
			for j := range dst[i : i+k] {
				dst[i+j] = v
			}
			h.repeat -= k
			i += k
		case h.npack > 0:
			k := min(h.npack, len(dst)-i)
			h.unpack(dst[i : i+k])
			h.npack -= k
			i += k
		default:
			if err := h.nextRun(); err != nil {
				return err
			}
		}
	}
	return nil
}

// unpack reads len(dst) values of the current packed run.
func (h *hybrid) unpack(dst []int32) {
	mask := uint64(1)<<h.width - 1
	for i := range dst {
		at, shift := h.bit>>3, h.bit&7
		var w uint64
		if int(at)+8 <= len(h.packed) {
			w = binary.LittleEndian.Uint64(h.packed[at:])
		} else {
			for k, c := range h.packed[at:] {
				w |= uint64(c) << (8 * k)
			}
		}
		dst[i] = int32((w >> shift) & mask)
		h.bit += h.width
	}
}

// nextRun starts the next run.
func (h *hybrid) nextRun() error {
	header, n := binary.Uvarint(h.data)
	if n <= 0 || header>>1 == 0 || header>>1 > 1<<31 {
		return errors.New("runs end early")
	}
	h.data = h.data[n:]
	count := int(header >> 1)
	if header&1 == 0 {
		size := int(h.width+7) / 8
		if len(h.data) < size {
			return errors.New("a repeated run ends early")
		}
		var v uint32
		for k, c := range h.data[:size] {
			v |= uint32(c) << (8 * k)
		}
		h.repeat, h.value, h.data = count, int32(v), h.data[size:]
		return nil
	}
	// count groups of eight values; a last run may be cut short, holding only whole values.
	size := min(count*int(h.width), len(h.data))
	h.packed, h.bit, h.data = h.data[:size], 0, h.data[size:]
	h.npack = 8 * count
	if h.width > 0 {
		h.npack = min(h.npack, 8*size/int(h.width))
	}
	return nil
}
