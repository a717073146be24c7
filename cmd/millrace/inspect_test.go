package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectReadsAnyFile inspects files of no built-in schema: it says the schema it read
// off each (in the form --columns takes), reads every record with it, and takes --columns
// instead.
func TestInspectReadsAnyFile(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "export.csv")
	text := "merchant,at,total,refunded\nm1,2026-03-02 00:00:01.494,12.50,false\nm2,2026-03-02 10:00:00,7,true\n"
	if err := os.WriteFile(csvPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "inspect", csvPath, "--head", "1")
	for _, want := range []string{
		"schema inferred from the first 2 records of " + csvPath + ":",
		"--columns 'merchant:string null,at:timestamp null,total:decimal(18,2) null,refunded:bool null'",
		"merchant=m1  at=2026-03-02T00:00:01.494Z  total=12.5  refunded=false",
		"2 records: 2 rows, 0 dead letters",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect %s printed:\n%s\nwant a line with %s", csvPath, out, want)
		}
	}
	out = mustRun(t, "inspect", csvPath, "--head", "0", "--columns", "merchant:string,at:timestamp,total:decimal(10,3),refunded:bool")
	if strings.Contains(out, "schema") || !strings.Contains(out, "2 records: 2 rows, 0 dead letters") {
		t.Errorf("inspect --columns printed:\n%s", out)
	}
	if _, err := run(t, "inspect", csvPath, "--columns", "merchant string"); err == nil || !strings.Contains(err.Error(), `"merchant string" is not name:type`) {
		t.Errorf("a bad --columns: %v", err)
	}

	pq := filepath.Join(dir, "tx.parquet")
	mustRun(t, "gen", "--rows", "500", "--out", pq)
	out = mustRun(t, "inspect", pq, "--head", "0")
	for _, want := range []string{
		"schema of " + pq + ":",
		"--columns 'tx_id:string,ts:timestamp,account_id:string,card_id:string,merchant_id:string,mcc:int32,amount:decimal(18,2),",
		"500 records: 500 rows, 0 dead letters",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect %s printed:\n%s\nwant a line with %s", pq, out, want)
		}
	}
}
