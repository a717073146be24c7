package redact

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/format"
)

func TestCards(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"4111111111111111", "************1111"},
		{"card 4111 1111 1111 1111 used", "card **** **** **** 1111 used"},
		{"5500-0000-0000-0004", "****-****-****-0004"},
		{`{"card_number":"378282246310005","amount":"12.50"}`, `{"card_number":"***********0005","amount":"12.50"}`},
		// Not Luhn-valid: a tx id stays.
		{"tx 4111111111111112", "tx 4111111111111112"},
		// Epoch milliseconds start with 1, outside the card ranges.
		{`"ts": 1772409601494`, `"ts": 1772409601494`},
		// Too short, too long.
		{"411111111111", "411111111111"},
		{"41111111111111111111", "41111111111111111111"},
		// A card number run on by another group of digits is still found.
		{"4111 1111 1111 1111 43", "**** **** **** 1111 43"},
		{"12 4111111111111111", "12 ************1111"},
		{"no digits", "no digits"},
	} {
		if got := Cards(c.in); got != c.want {
			t.Errorf("Cards(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRecordJSON(t *testing.T) {
	r := NewRules([]string{"card_number", "CVV", "address"}, nil)
	for _, c := range []struct{ in, want string }{
		{`{"tx_id":"t1","card_number":"4111111111111111","cvv":"123","amount":"1"}`,
			`{"tx_id":"t1","card_number":"****","cvv":"****","amount":"1"}`},
		{`{"cvv" : 123, "n": 1}`, `{"cvv" : "****", "n": 1}`},
		{`{"address": {"street": "Main \"7\"", "zip": [1, 2]}, "ok": true}`, `{"address": "****", "ok": true}`},
		// A broken record is masked as far as it goes.
		{`{"cvv": "12`, `{"cvv": "****"`},
		{`{"note": "cvv", "x": 1}`, `{"note": "cvv", "x": 1}`},
		// Card numbers in fields the list does not name are masked anyway.
		{`{"memo": "paid with 4111-1111-1111-1111"}`, `{"memo": "paid with ****-****-****-1111"}`},
	} {
		if got := r.Record(c.in); got != c.want {
			t.Errorf("Record(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestRecordCSV(t *testing.T) {
	r := NewRules([]string{"cvv"}, []string{"tx_id", "cvv", "amount"})
	for _, c := range []struct{ in, want string }{
		{"t1,123,4.50\n", "t1,****,4.50\n"},
		{`t2,"1,2",x`, "t2,****,x"},
		{"t3", "t3"},
	} {
		if got := r.Record(c.in); got != c.want {
			t.Errorf("Record(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := (Rules{}).Record("a,123,b"); got != "a,123,b" {
		t.Errorf("zero rules changed a line without card numbers: %q", got)
	}
}

func TestText(t *testing.T) {
	r := NewRules([]string{"cvv"}, nil)
	got := r.Text(`cvv: "12x" is not an int; card 4111111111111111`)
	want := `cvv: "****" is not an int; card ************1111`
	if got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if !r.Names("CVV") || r.Names("amount") {
		t.Error("Names: want CVV masked and amount not")
	}
}

func TestDeadLetterBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	rec := format.DeadLetterBatch(mem, []format.DeadLetter{
		{File: "tx.jsonl", Line: 3, Raw: []byte(`{"cvv":"737","pan":"4111111111111111"}`), Reason: `cvv: "737" is not an int`},
	})
	out := NewRules([]string{"cvv"}, nil).DeadLetters(mem, rec)
	defer out.Release()
	raw := out.Column(out.Schema().FieldIndices("raw")[0]).(*array.String).Value(0)
	reason := out.Column(out.Schema().FieldIndices("reason")[0]).(*array.String).Value(0)
	file := out.Column(0).(*array.String).Value(0)
	if raw != `{"cvv":"****","pan":"************1111"}` || reason != `cvv: "****" is not an int` || file != "tx.jsonl" {
		t.Errorf("masked dead letter: raw %s, reason %s, file %s", raw, reason, file)
	}
}
