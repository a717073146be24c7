package schema

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestTransactionColumnsMatchConstants(t *testing.T) {
	s := Transaction()
	want := map[int]string{TxID: "tx_id", TS: "ts", AccountID: "account_id", CardID: "card_id",
		MerchantID: "merchant_id", MCC: "mcc", AmountCol: "amount", Currency: "currency",
		Country: "country", Channel: "channel", Lat: "lat", Lon: "lon", IsFraud: "is_fraud"}
	if s.NumFields() != len(want) {
		t.Fatalf("transaction has %d fields, want %d", s.NumFields(), len(want))
	}
	for i, name := range want {
		if got := s.Field(i).Name; got != name {
			t.Errorf("field %d = %q, want %q", i, got, name)
		}
	}
	if !arrow.TypeEqual(s.Field(AmountCol).Type, Amount) {
		t.Errorf("amount type %s, want decimal(18,2)", s.Field(AmountCol).Type)
	}
	if s.Field(TxID).Nullable || !s.Field(Lat).Nullable {
		t.Errorf("nullability wrong: tx_id %v lat %v", s.Field(TxID).Nullable, s.Field(Lat).Nullable)
	}
}

func TestParseType(t *testing.T) {
	ok := map[string]string{
		"string": "utf8", "BOOL": "bool", "int32": "int32", "int64": "int64", "float64": "float64",
		"timestamp": "timestamp[ms, tz=UTC]", "date": "date32", "decimal(18,2)": "decimal(18, 2)",
		"decimal( 38 , 0 )": "decimal(38, 0)",
	}
	for in, want := range ok {
		got, err := ParseType(in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", in, err)
			continue
		}
		if got.String() != want {
			t.Errorf("ParseType(%q) = %s, want %s", in, got, want)
		}
	}
	bad := map[string]string{
		"decimal(39,2)": "bad decimal", "decimal(5,6)": "bad decimal", "decimal(x)": "bad decimal",
		"uuid": "unknown type",
	}
	for in, want := range bad {
		if _, err := ParseType(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseType(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestParseRejectsDuplicatesAndNamesTheColumn(t *testing.T) {
	_, err := Parse([]Column{{Name: "a", Type: "string"}, {Name: "a", Type: "int64"}})
	if err == nil || !strings.Contains(err.Error(), `"a" declared twice`) {
		t.Fatalf("got %v", err)
	}
	_, err = Parse([]Column{{Name: "price", Type: "money"}})
	if err == nil || !strings.Contains(err.Error(), `column "price": unknown type "money"`) {
		t.Fatalf("got %v", err)
	}
	s, err := Parse([]Column{{Name: "id", Type: "string"}, {Name: "v", Type: "decimal(10,3)", Nullable: true}})
	if err != nil || s.NumFields() != 2 || !s.Field(1).Nullable {
		t.Fatalf("Parse: %v %v", s, err)
	}
}

func TestBuiltin(t *testing.T) {
	if s, err := Builtin("transaction"); err != nil || s != Transaction() {
		t.Fatalf("Builtin(transaction) = %v, %v", s, err)
	}
	if _, err := Builtin("trades"); err == nil || !strings.Contains(err.Error(), "built-in: transaction") {
		t.Fatalf("got %v", err)
	}
}
