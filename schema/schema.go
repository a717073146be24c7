// Package schema holds the column types millrace understands and its built-in schemas.
//
// Every batch in millrace is an Arrow record batch whose schema comes from here: either a
// built-in schema by name (Transaction) or one declared inline in a pipeline spec as
// `columns: {name: type}` and parsed with Parse.
//
// Money is exact: Amount is decimal(18,2), stored in Arrow as decimal128 and in Parquet as
// DECIMAL(18,2). Event times are Timestamp: milliseconds since the Unix epoch, UTC.
package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Amount is the type of money columns: exact decimal with 18 digits, 2 after the point.
var Amount = &arrow.Decimal128Type{Precision: 18, Scale: 2}

// Timestamp is the type of event-time columns: milliseconds since the epoch, UTC.
var Timestamp = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

// Column positions in the Transaction schema.
const (
	TxID = iota
	TS
	AccountID
	CardID
	MerchantID
	MCC
	AmountCol
	Currency
	Country
	Channel
	Lat
	Lon
	IsFraud
)

// Channels lists the values of the transaction `channel` column.
var Channels = []string{"pos", "ecom", "atm", "transfer"}

var transaction = arrow.NewSchema([]arrow.Field{
	{Name: "tx_id", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: Timestamp},
	{Name: "account_id", Type: arrow.BinaryTypes.String},
	{Name: "card_id", Type: arrow.BinaryTypes.String},
	{Name: "merchant_id", Type: arrow.BinaryTypes.String},
	{Name: "mcc", Type: arrow.PrimitiveTypes.Int32},
	{Name: "amount", Type: Amount},
	{Name: "currency", Type: arrow.BinaryTypes.String},
	{Name: "country", Type: arrow.BinaryTypes.String},
	{Name: "channel", Type: arrow.BinaryTypes.String},
	{Name: "lat", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "lon", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "is_fraud", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// transactionScenario is transaction with the generator's fraud scenario of every row.
var transactionScenario = arrow.NewSchema(append(transaction.Fields(),
	arrow.Field{Name: "fraud_scenario", Type: arrow.BinaryTypes.String, Nullable: true}), nil)

// TransactionScenario returns the Transaction schema followed by fraud_scenario, the name of
// the generator's fraud scenario a row belongs to (card_testing, account_takeover,
// compromised_merchant), null for normal traffic: the ground truth per scenario, which the
// generator adds on request only.
func TransactionScenario() *arrow.Schema { return transactionScenario }

// Transaction returns the built-in card and account transaction schema. Columns that are not
// nullable are required: a record without them is a dead letter.
func Transaction() *arrow.Schema { return transaction }

// builtin maps the names a spec may use for `schema:` to the schemas.
var builtin = map[string]*arrow.Schema{"transaction": transaction, "transaction_scenario": transactionScenario}

// Builtin returns the built-in schema with the given name.
func Builtin(name string) (*arrow.Schema, error) {
	if s, ok := builtin[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(builtin))
	for n := range builtin {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("schema: unknown schema %q (built-in: %s)", name, strings.Join(names, ", "))
}

// Column is one declared column of an inline schema.
type Column struct {
	Name     string
	Type     string // as written: "string", "decimal(18,2)", "timestamp", ...
	Nullable bool
}

// Parse builds a schema from declared columns, in the order given.
func Parse(cols []Column) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(cols))
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("schema: column with empty name")
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("schema: column %q declared twice", c.Name)
		}
		seen[c.Name] = true
		t, err := ParseType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("schema: column %q: %w", c.Name, err)
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: t, Nullable: c.Nullable})
	}
	return arrow.NewSchema(fields, nil), nil
}

// TypeNames lists the type names ParseType accepts.
var TypeNames = []string{"string", "bool", "int32", "int64", "float64", "timestamp", "date", "decimal(P,S)"}

// ParseType parses a column type name: string, bool, int32, int64, float64, timestamp
// (milliseconds, UTC), date, or decimal(P,S) with 1 <= P <= 38 and 0 <= S <= P.
func ParseType(name string) (arrow.DataType, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "string", "text", "varchar":
		return arrow.BinaryTypes.String, nil
	case "bool", "boolean":
		return arrow.FixedWidthTypes.Boolean, nil
	case "int32", "int":
		return arrow.PrimitiveTypes.Int32, nil
	case "int64", "bigint":
		return arrow.PrimitiveTypes.Int64, nil
	case "float64", "double":
		return arrow.PrimitiveTypes.Float64, nil
	case "timestamp":
		return Timestamp, nil
	case "date":
		return arrow.FixedWidthTypes.Date32, nil
	}
	if inner, ok := strings.CutPrefix(n, "decimal("); ok {
		if inner, ok = strings.CutSuffix(inner, ")"); ok {
			ps, ss, ok := strings.Cut(inner, ",")
			p, perr := strconv.Atoi(strings.TrimSpace(ps))
			s, serr := strconv.Atoi(strings.TrimSpace(ss))
			if ok && perr == nil && serr == nil && p >= 1 && p <= 38 && s >= 0 && s <= p {
				return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(s)}, nil
			}
		}
		return nil, fmt.Errorf("bad decimal type %q: want decimal(P,S) with 1 <= P <= 38, 0 <= S <= P", name)
	}
	return nil, fmt.Errorf("unknown type %q (known: %s)", name, strings.Join(TypeNames, ", "))
}
