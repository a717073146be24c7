package observe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"millrace/engine"
	"millrace/plan"
)

// loadWindow is how far back the rates and shares of /api/topology look.
const loadWindow = 5 * time.Second

// topologyHandler serves /api/topology: the load of every node over the last few seconds
// and the verdict.
type topologyHandler struct {
	plan    *plan.Plan
	monitor *engine.Monitor
	redact  redactions
	// workers, in cluster mode, returns every worker of the cluster.
	workers func() []WorkerView
	window  LoadWindow // chooses the snapshot rates are measured from
}

func (h *topologyHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	top, ok := h.topology()
	if !ok {
		http.Error(w, "the pipeline has not started", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, top)
}

// ledgerHandler serves /api/ledger: the run's ledger so far.
type ledgerHandler struct {
	plan    *plan.Plan
	monitor *engine.Monitor
}

func (h ledgerHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	cur := h.monitor.Snapshot()
	if cur == nil {
		http.Error(w, "the pipeline has not started", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, newLedgerView(h.plan, cur))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// deadLettersHandler serves /api/dead-letters?limit=N: the most recent dead letters, newest
// first, with where they were and why they were refused, masked by their sources' redact
// lists and for card numbers.
type deadLettersHandler struct {
	monitor *engine.Monitor
	redact  redactions
}

// deadLetterView is a dead letter as the API shows it.
type deadLetterView struct {
	Source string `json:"source"`
	Where  string `json:"where"`
	Reason string `json:"reason"`
	Raw    string `json:"raw"`
}

func (h deadLettersHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			http.Error(w, fmt.Sprintf("limit %q: want a positive number", s), http.StatusBadRequest)
			return
		}
		limit = n
	}
	dead := h.monitor.DeadLetters(limit)
	out := make([]deadLetterView, len(dead))
	for i, d := range dead {
		out[i] = h.redact.deadLetter(d)
	}
	writeJSON(w, out)
}
