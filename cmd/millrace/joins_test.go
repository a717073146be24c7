package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanAndRunThePaymentCashoutExample plans and runs the dedup and interval join example over
// generated transactions: every joined row pairs a card payment with a withdrawal on the
// same card 0 to 30 minutes later.
func TestPlanAndRunThePaymentCashoutExample(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "gen", "--rows", "40000", "--disorder", "2s", "--dup-rate", "0.01", "--out", filepath.Join(dir, "tx.jsonl"))
	t.Setenv("TX_PATH", filepath.Join(dir, "tx.jsonl"))
	example, err := filepath.Abs("../../examples/payment-cashout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := mustRun(t, "plan", example, "-p", "2")
	for _, want := range []string{"unique  [dedup, parallelism 2]", "cashouts  [interval join, parallelism 2]", "<- payments (hash by card_id)", "<- cash (hash by card_id)",
		"inner join cash on card_id within [0s, 30m0s], the later event time as event_time"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	t.Chdir(dir)
	mustRun(t, "run", example, "-p", "2", "--listen", "", "--no-checkpoint")
	rows := 0
	for _, line := range sinkRows(t, filepath.Join(dir, "out", "payment-cashout", "cashouts")) {
		var row struct {
			Card    string  `json:"card_id"`
			Minutes float64 `json:"minutes_after"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		if row.Card == "" || row.Minutes < 0 || row.Minutes > 30 {
			t.Fatalf("row %s is not a withdrawal 0 to 30 minutes after a payment", line)
		}
		rows++
	}
	if rows == 0 {
		t.Fatal("the example joined nothing")
	}
}
