package expr

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestBitmap(t *testing.T) {
	b := newBitmap(130)
	for _, i := range []int{0, 63, 64, 129} {
		b.set(i)
	}
	if b.count(130) != 4 || b.count(64) != 2 || !b.get(63) || b.get(62) {
		t.Errorf("bitmap %b", b)
	}
	ones := onesBitmap(70)
	if ones.count(70) != 70 {
		t.Errorf("onesBitmap count %d", ones.count(70))
	}
	if got := andBitmaps(ones, b); got.count(70) != 3 {
		t.Errorf("and count %d", got.count(70))
	}
	if andBitmaps(nil, b)[0] != b[0] || andBitmaps(b, nil)[0] != b[0] {
		t.Error("nil stands for all set")
	}
	var seen []int
	forEachSet(b, 129, func(i int) { seen = append(seen, i) })
	if len(seen) != 3 || seen[2] != 64 {
		t.Errorf("forEachSet stops at n: %v", seen)
	}
	var bad badRows
	bad.n = 200
	bad.mark(5)
	bad.mark(150)
	valid := onesBitmap(200)
	valid[0] &^= 1 << 5
	if got := bad.first(valid, nil); got != 150 {
		t.Errorf("first relevant bad row %d", got)
	}
	sel := newBitmap(200)
	if got := bad.first(nil, sel); got != -1 {
		t.Errorf("no row selected, got %d", got)
	}
}

// TestLoadSlicedColumns reads arrays that start at an offset inside their buffers.
func TestLoadSlicedColumns(t *testing.T) {
	rec := batch(t,
		col{"s", "string", []any{"a", "bb", nil, "ddd", "e", nil, "g", "hh", "i", "j", "k"}},
		col{"b", "bool", []any{true, false, nil, true, true, false, nil, true, false, false, true}},
		col{"x", "int32", []any{1, 2, 3, nil, 5, 6, 7, 8, 9, 10, 11}},
	)
	defer rec.Release()
	sliced := rec.NewSlice(2, 11)
	defer sliced.Release()
	for src, want := range map[string]string{
		"s":                "NULL | ddd | e | NULL | g | hh | i | j | k",
		"s || '!'":         "NULL | ddd! | e! | NULL | g! | hh! | i! | j! | k!",
		"b":                "NULL | true | true | false | NULL | true | false | false | true",
		"NOT b":            "NULL | false | false | true | NULL | false | true | true | false",
		"x + 1":            "4 | NULL | 6 | 7 | 8 | 9 | 10 | 11 | 12",
		"coalesce(s, 'z')": "z | ddd | e | z | g | hh | i | j | k",
	} {
		got, err := evalText(t, sliced, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, joined(got), err, want)
		}
	}
}

// TestOutputOwnership checks that results never share memory the caller may free with the
// input: a bare column comes back as the input array, retained; anything else is new.
func TestOutputOwnership(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"x", "y"}, nil)
	sarr := sb.NewArray()
	sb.Release()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{1, 2}, nil)
	iarr := ib.NewArray()
	ib.Release()
	sch := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}, {Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecordBatch(sch, []arrow.Array{sarr, iarr}, 2)
	sarr.Release()
	iarr.Release()
	var outs []arrow.Array
	for _, src := range []string{"s", "i", "epoch_ms(to_timestamp_ms(i))", "coalesce(s)", "CASE WHEN TRUE THEN s END"} {
		e, err := CompileString(src, sch)
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, a)
	}
	if outs[0] != rec.Column(0) {
		t.Error("a bare column should come back as the input array")
	}
	rec.Release()
	if got := renderValue(outs[2], 1) + renderValue(outs[3], 0) + renderValue(outs[4], 1); got != "2xy" {
		t.Errorf("outputs after the input was released: %q", got)
	}
	for _, a := range outs {
		a.Release()
	}
	mem.AssertSize(t, 0)
}

// TestDictionaryStrings evaluates and filters dictionary-encoded string columns.
func TestDictionaryStrings(t *testing.T) {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, s := range []string{"pos", "ecom", "", "pos", "atm"} {
		if s == "" {
			b.AppendNull()
			continue
		}
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	arr := b.NewArray()
	defer arr.Release()
	sch := arrow.NewSchema([]arrow.Field{{Name: "channel", Type: dt, Nullable: true}}, nil)
	rec := array.NewRecordBatch(sch, []arrow.Array{arr}, 5)
	defer rec.Release()
	got, err := evalText(t, rec, "upper(channel) || '/' || length(channel)")
	if err != nil || joined(got) != "POS/3 | ECOM/4 | NULL | POS/3 | ATM/3" {
		t.Errorf("got %q %v", joined(got), err)
	}
	e, err := CompileString("channel IN ('pos', 'atm')", sch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Filter(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := rows(out); strings.Join(got, ",") != "pos,pos,atm" {
		t.Errorf("filtered %q", got)
	}
	if _, ok := out.Column(0).(*array.Dictionary); !ok {
		t.Error("the filtered column is no longer dictionary-encoded")
	}
}

// TestToArrayCopiesBorrowed checks that values aliasing an input column are copied when they
// end up in a result that is not that column.
func TestToArrayCopiesBorrowed(t *testing.T) {
	rec := batch(t, col{"s", "string", []any{"a", "bb", nil, "ccc"}}, col{"i", "int64", []any{1, 2, 3, 4}})
	defer rec.Release()
	sliced := rec.NewSlice(1, 4)
	defer sliced.Release()
	for c, typ := range []typ{tString, tInt64} {
		v, err := loadColumn(sliced.Column(c))
		if err != nil {
			t.Fatal(err)
		}
		v.src = nil // as if a kernel had passed the values through
		a := toArray(v, typ)
		for i := 0; i < 3; i++ {
			if renderValue(a, i) != renderValue(sliced.Column(c), i) {
				t.Errorf("%s row %d: %s", typ, i, renderValue(a, i))
			}
		}
		if a.Data().Buffers()[1] == sliced.Column(c).Data().Buffers()[1] {
			t.Errorf("%s: the values buffer is shared", typ)
		}
		a.Release()
	}
}
