package expr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// LIKE matches a whole string against a pattern where % stands for any run of characters
// and _ for exactly one character (a Unicode code point, not a byte). The escape character,
// backslash unless ESCAPE says otherwise (ESCAPE '' means none), makes the next pattern
// character literal. ILIKE compares characters with simple Unicode case folding.
//
// A constant pattern without _ is split at its % signs into literal pieces and matched with
// byte searches: equality, prefix, suffix, substring, or a sequence of pieces found left to
// right. Anything else goes through a backtracking matcher that works on the bytes in place;
// neither allocates per row.

func (c *compiler) like(n *Like) (*operand, error) {
	x, err := c.compile(n.X)
	if err != nil {
		return nil, err
	}
	p, err := c.compile(n.Pattern)
	if err != nil {
		return nil, err
	}
	for _, o := range []*operand{x, p} {
		if o.t.k != kString && o.t.k != kNull {
			return nil, fmt.Errorf("LIKE needs strings, but %s is %s", o.node, o.t)
		}
	}
	esc := '\\'
	if n.Escape != nil {
		e, err := c.compile(n.Escape)
		if err != nil {
			return nil, err
		}
		if e.konst == nil || e.t.k != kString || e.konst.null(0) {
			return nil, fmt.Errorf("ESCAPE needs a constant string, not %s", n.Escape)
		}
		s := e.konst.str(0)
		switch utf8.RuneCount(s) {
		case 0:
			esc = -1
		case 1:
			esc, _ = utf8.DecodeRune(s)
		default:
			return nil, fmt.Errorf("ESCAPE needs a single character, not %q", s)
		}
	}
	if strictNull(x, p) {
		return nullOf(tBool, n), nil
	}
	e := &likeEval{x: x.ev, p: p.ev, esc: esc, ci: n.Insensitive, not: n.Not}
	if p.konst != nil {
		pat := p.konst.str(0)
		if err := checkPattern(pat, esc); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		e.pattern = pat
		e.constant = true
		if !n.Insensitive {
			e.pieces, e.simple = splitPattern(pat, esc)
		}
	}
	return c.finish(&operand{ev: e, t: tBool, nullable: anyNullable(x, p), node: n}, x, p)
}

// checkPattern refuses a pattern that ends in the middle of an escape.
func checkPattern(p []byte, esc rune) error {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		i += n
		if r == esc {
			if i >= len(p) {
				return fmt.Errorf("LIKE pattern %q ends with the escape character", p)
			}
			_, n = utf8.DecodeRune(p[i:])
			i += n
		}
	}
	return nil
}

// splitPattern splits a pattern at its unescaped % signs into literal pieces, escapes
// removed. simple is false when the pattern has an unescaped _, which pieces cannot express.
func splitPattern(p []byte, esc rune) (pieces [][]byte, simple bool) {
	cur := []byte{}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		switch r {
		case esc:
			r2, n2 := utf8.DecodeRune(p[i+n:])
			cur = utf8.AppendRune(cur, r2)
			n += n2
		case '%':
			pieces = append(pieces, cur)
			cur = []byte{}
		case '_':
			return nil, false
		default:
			cur = append(cur, p[i:i+n]...)
		}
		i += n
	}
	return append(pieces, cur), true
}

type likeEval struct {
	x, p     evaluator
	esc      rune
	ci, not  bool
	constant bool
	pattern  []byte
	pieces   [][]byte // the pattern split at %, when simple
	simple   bool
}

func (e *likeEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	xv, pv, out, rows, err := evalBoth(c, sel, e.x, e.p)
	if err != nil {
		return nil, err
	}
	out.bits = newBitmap(rows)
	xm, pm := idxMask(xv), idxMask(pv)
	offs, data := xv.offs, xv.data
	switch {
	case e.constant && e.simple && !xv.konst:
		matchPieces(e.pieces, offs[:rows+1], data, out.bits)
	case e.constant:
		for i := 0; i < rows; i++ {
			j := i & xm
			if likeMatch(data[offs[j]:offs[j+1]], e.pattern, e.esc, e.ci) {
				out.bits.set(i)
			}
		}
	default:
		for i := 0; i < rows; i++ {
			j, k := i&xm, i&pm
			if likeMatch(data[offs[j]:offs[j+1]], pv.data[pv.offs[k]:pv.offs[k+1]], e.esc, e.ci) {
				out.bits.set(i)
			}
		}
	}
	if e.not {
		for w, x := range out.bits {
			out.bits[w] = ^x
		}
	}
	return out, nil
}

// matchPieces matches every row of a string column against a pattern made of literal
// pieces separated by %.
func matchPieces(pieces [][]byte, offs []int32, data []byte, out bitmap) {
	first, last := pieces[0], pieces[len(pieces)-1]
	switch {
	case len(pieces) == 1: // no %: equality
		eqStringsScalar(offs, data, string(first), out)
	case len(pieces) == 2 && len(last) == 0: // prefix%
		matchPrefix(offs, data, first, out)
	case len(pieces) == 2 && len(first) == 0: // %suffix
		matchSuffix(offs, data, last, out)
	case len(pieces) == 3 && len(first) == 0 && len(last) == 0: // %middle%
		matchContains(offs, data, pieces[1], out)
	default:
		for i := 0; i+1 < len(offs); i++ {
			if matchPieceSeq(data[offs[i]:offs[i+1]], pieces) {
				out.set(i)
			}
		}
	}
}

// matchPrefix sets the bits of the rows that start with p. Like eqStringsScalar it compares
// the first eight bytes as one integer and looks further only when they match.
func matchPrefix(offs []int32, data, p []byte, out bitmap) {
	n := int32(len(p))
	head := loadTail(p)
	mask := uint64(1)<<(8*uint(min(n, 8))) - 1
	limit := int32(len(data) - 8)
	for w := range out {
		lo := w * 64
		o := offs[lo : min(lo+64, len(offs)-1)+1]
		var word uint64
		for j := 0; j+1 < len(o); j++ {
			start, end := o[j], o[j+1]
			var x uint64
			if start <= limit {
				x = binary.LittleEndian.Uint64(data[start:])
			} else {
				x = loadTail(data[start:])
			}
			m := b2u(x&mask == head) & b2u(end-start >= n)
			if n > 8 && m != 0 && !bytes.Equal(data[start+8:start+n], p[8:]) {
				m = 0
			}
			word |= m << uint(j)
		}
		out[w] = word
	}
}

// matchSuffix sets the bits of the rows that end with p, comparing the last eight bytes as
// one integer first.
func matchSuffix(offs []int32, data, p []byte, out bitmap) {
	n := int32(len(p))
	k := min(n, 8)
	tail := loadTail(p[n-k:])
	shift := 64 - 8*uint(k)
	for w := range out {
		lo := w * 64
		o := offs[lo : min(lo+64, len(offs)-1)+1]
		var word uint64
		for j := 0; j+1 < len(o); j++ {
			start, end := o[j], o[j+1]
			var m uint64
			if end >= 8 {
				x := binary.LittleEndian.Uint64(data[end-8:]) >> shift
				m = b2u(x == tail) & b2u(end-start >= n)
				if n > 8 && m != 0 && !bytes.Equal(data[end-n:end-8], p[:n-8]) {
					m = 0
				}
			} else {
				m = b2u(bytes.HasSuffix(data[start:end], p))
			}
			word |= m << uint(j)
		}
		out[w] = word
	}
}

// matchContains sets the bits of the rows that contain needle. Rather than searching row by
// row it searches the column's whole data buffer, whose byte search runs many bytes per
// instruction, and maps each hit back to its row; a hit that spans two rows does not count.
func matchContains(offs []int32, data, needle []byte, out bitmap) {
	rows := len(offs) - 1
	if len(needle) == 0 {
		for i := 0; i < rows; i++ {
			out.set(i)
		}
		return
	}
	end := offs[rows]
	r := 0
	for pos := offs[0]; pos < end; {
		m := bytes.Index(data[pos:end], needle)
		if m < 0 {
			return
		}
		at := pos + int32(m)
		for offs[r+1] <= at {
			r++
		}
		if at+int32(len(needle)) <= offs[r+1] {
			out.set(r)
			pos = offs[r+1]
		} else {
			pos = at + 1
		}
	}
}

// matchPieceSeq matches s against first%p1%...%last: the first piece anchored at the start,
// the last at the end, and each middle piece at its leftmost place after the previous one.
// Leftmost is always right, since % can absorb whatever lies between pieces.
func matchPieceSeq(s []byte, pieces [][]byte) bool {
	first, last := pieces[0], pieces[len(pieces)-1]
	if len(s) < len(first)+len(last) || !bytes.HasPrefix(s, first) || !bytes.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range pieces[1 : len(pieces)-1] {
		i := bytes.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// decode reads one UTF-8 code point, quickly for ASCII.
func decode(b []byte) (rune, int) {
	if b[0] < utf8.RuneSelf {
		return rune(b[0]), 1
	}
	return utf8.DecodeRune(b)
}

// likeMatch matches s against pattern p with escape character esc (-1 for none). It scans
// both once, remembering the last % seen; on a mismatch it lets that % absorb one more
// character of s and retries. That is enough because % is the only wildcard of variable
// length, so the work is at most len(s) * len(p).
func likeMatch(s, p []byte, esc rune, ci bool) bool {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			pr, pn := decode(p[pi:])
			switch pr {
			case '%':
				pi += pn
				starP, starS = pi, si
				continue
			case '_':
				_, sn := decode(s[si:])
				si += sn
				pi += pn
				continue
			case esc:
				if pi+pn >= len(p) {
					return false
				}
				var n2 int
				pr, n2 = decode(p[pi+pn:])
				pn += n2
			}
			sr, sn := decode(s[si:])
			if sr == pr || (ci && foldEq(sr, pr)) {
				si += sn
				pi += pn
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, sn := decode(s[starS:])
		starS += sn
		si, pi = starS, starP
	}
	for pi < len(p) {
		if p[pi] != '%' {
			return false
		}
		pi++
	}
	return true
}

// foldEq reports whether two code points are equal under simple case folding.
func foldEq(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
