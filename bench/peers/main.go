// Command peers runs the works of `millrace bench history` in DuckDB, the peer millrace is
// measured against, and checksums the outputs of both. It is a module of its own because
// DuckDB is C++ reached through cgo: millrace itself stays pure Go, and only this program
// links DuckDB.
//
// Build it once and hand its path to the benchmark:
//
//	(cd bench/peers && go build -o /tmp/duckdb-peer .)
//	millrace bench history --peer /tmp/duckdb-peer
//
// Usage:
//
//	peers run --work WORK --in INPUT --out OUTPUT
//	peers digest --work WORK --parquet GLOB
//
// run does one work on INPUT, writes its result to OUTPUT as Parquet (zstd) and prints one
// JSON object: work, rows (written), seconds (the work alone) and peak_rss_bytes (of the
// process). The benchmark itself times the whole process and reads its peak memory from the
// OS, as it does for millrace. The works
// are the ones millrace runs from its own spec (see bench/history.go in the main module):
//
//	decode   the JSONL transactions, every column: a digest of one row (count, exact sum of
//	         amount, extremes of every other column)
//	scan     the same digest over a Parquet file
//	windows  per card and 1-minute tumbling window: tx_count and spend
//	groups   per merchant and country: tx_count, volume, approximate distinct cards and
//	         the 0.99 quantile (quantile_disc) of amount
//
// digest reads the Parquet files GLOB names, written by either side, and prints one JSON
// object whose values are strings: numbers written exactly (decimals without trailing
// zeros), timestamps as epoch milliseconds. Equal digests of both sides' outputs show that
// both did the same work.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// run carries out one command line.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: peers run --work WORK --in INPUT --out OUTPUT | peers digest --work WORK --parquet GLOB")
	}
	fs := flag.NewFlagSet("peers "+args[0], flag.ContinueOnError)
	work := fs.String("work", "", "the work: decode, scan, windows or groups")
	in := fs.String("in", "", "run: the input file")
	out := fs.String("out", "", "run: the Parquet file to write")
	glob := fs.String("parquet", "", "digest: the Parquet files to read")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	w, ok := works[*work]
	if !ok {
		return fmt.Errorf("--work %q: want decode, scan, windows or groups", *work)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("open DuckDB: %w", err)
	}
	defer func() { _ = db.Close() }() // the work's own errors are the ones to report
	// One connection, so that the session's settings hold for every statement.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return fmt.Errorf("set DuckDB's time zone: %w", err)
	}
	switch args[0] {
	case "run":
		if *in == "" || *out == "" {
			return errors.New("run needs --in and --out")
		}
		q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", fmt.Sprintf(w.query, w.read(*in)), quote(*out))
		start := time.Now()
		res, err := db.ExecContext(ctx, q)
		if err != nil {
			return fmt.Errorf("%s %s: %w", *work, *in, err)
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s %s: rows written: %w", *work, *in, err)
		}
		return json.NewEncoder(stdout).Encode(figures{Work: *work, Rows: rows, Seconds: time.Since(start).Seconds(), PeakRSS: peakRSS()})
	case "digest":
		if *glob == "" {
			return errors.New("digest needs --parquet")
		}
		d, err := digest(ctx, db, fmt.Sprintf(w.digest, "read_parquet("+quote(*glob)+")"))
		if err != nil {
			return fmt.Errorf("digest of %s (%s): %w", *glob, *work, err)
		}
		return json.NewEncoder(stdout).Encode(d)
	}
	return fmt.Errorf("unknown command %q: want run or digest", args[0])
}

// figures are what run prints: the rows written, the seconds the work took (DuckDB's start
// and the process's excluded) and the process's peak resident memory in bytes.
type figures struct {
	Work    string  `json:"work"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	PeakRSS int64   `json:"peak_rss_bytes"`
}

// peakRSS is the most resident memory this process has held since it started, in bytes:
// VmHWM of /proc/self/status, which counts this program alone (getrusage would also count
// the memory of the process that started it, carried over exec); 0 where Linux does not say.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kib * 1024
		}
	}
	return 0
}

// work is one work of the benchmark: how DuckDB reads its input, the query whose result it
// writes (%s is the input's table function), and the query that digests a result (%s is
// read_parquet of the result's files).
type work struct {
	read   func(path string) string
	query  string
	digest string
}

// everyColumn aggregates every column of a transaction, so that a reader must decode them
// all, into one row whose values both engines compute exactly.
const everyColumn = `SELECT count(*) AS tx_count, sum(amount) AS amount, min(ts) AS ts_min, max(ts) AS ts_max,
	max(tx_id) AS tx_id, max(account_id) AS account_id, max(card_id) AS card_id,
	max(merchant_id) AS merchant_id, CAST(sum(mcc) AS BIGINT) AS mcc, max(currency) AS currency,
	max(country) AS country, max(channel) AS channel, max(lat) AS lat, min(lon) AS lon,
	count_if(is_fraud) AS frauds FROM %s`

var works = map[string]work{
	"decode": {read: readJSON, query: everyColumn, digest: "SELECT * FROM %s"},
	"scan":   {read: readParquet, query: everyColumn, digest: "SELECT * FROM %s"},
	"windows": {
		read: readParquet,
		query: `SELECT card_id, time_bucket(INTERVAL 1 minute, ts) AS window_start,
			time_bucket(INTERVAL 1 minute, ts) + INTERVAL 1 minute AS window_end,
			count(*) AS tx_count, sum(amount) AS spend FROM %s GROUP BY ALL`,
		digest: `SELECT count(*) AS windows, sum(tx_count) AS tx_count, sum(spend) AS spend,
			count(DISTINCT card_id) AS cards, sum(epoch_ms(window_start)) AS starts,
			sum(epoch_ms(window_end) - epoch_ms(window_start)) AS widths FROM %s`,
	},
	"groups": {
		read: readParquet,
		query: `SELECT merchant_id, country, count(*) AS tx_count, sum(amount) AS volume,
			approx_count_distinct(card_id) AS cards, quantile_disc(amount, 0.99) AS p99
			FROM %s GROUP BY ALL`,
		digest: `SELECT count(*) AS groups, sum(tx_count) AS tx_count, sum(volume) AS volume,
			sum(p99) AS p99, sum(cards) AS cards, count(DISTINCT merchant_id) AS merchants FROM %s`,
	},
}

// readJSON reads JSON lines of the transaction schema, with the types millrace gives them.
func readJSON(path string) string {
	return "read_json(" + quote(path) + `, format = 'newline_delimited', columns = {
		tx_id: 'VARCHAR', ts: 'TIMESTAMPTZ', account_id: 'VARCHAR', card_id: 'VARCHAR',
		merchant_id: 'VARCHAR', mcc: 'INTEGER', amount: 'DECIMAL(18,2)', currency: 'VARCHAR',
		country: 'VARCHAR', channel: 'VARCHAR', lat: 'DOUBLE', lon: 'DOUBLE', is_fraud: 'BOOLEAN'})`
}

func readParquet(path string) string { return "read_parquet(" + quote(path) + ")" }

// quote writes s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// digest runs q, which returns one row, and returns its columns as exact text.
func digest(ctx context.Context, db *sql.DB, q string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err reports what went wrong while reading
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("no row")
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	if rows.Next() {
		return nil, errors.New("more than one row")
	}
	out := make(map[string]string, len(cols))
	for i, c := range cols {
		out[c] = text(vals[i])
	}
	return out, rows.Err()
}

// text writes a value exactly: decimals without trailing zeros, so that 12.50 of one side
// equals 12.5 of the other, and timestamps as epoch milliseconds, whatever their zone.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case time.Time:
		return strconv.FormatInt(x.UnixMilli(), 10)
	case duckdb.Decimal:
		return decimalText(x.Value, int(x.Scale))
	case *big.Int:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// decimalText writes the unscaled value v of scale places as a decimal, trailing zeros
// after the point dropped.
func decimalText(v *big.Int, scale int) string {
	digits, sign := new(big.Int).Abs(v).String(), ""
	if v.Sign() < 0 {
		sign = "-"
	}
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-scale], strings.TrimRight(digits[len(digits)-scale:], "0")
	if frac == "" {
		return sign + whole
	}
	return sign + whole + "." + frac
}
