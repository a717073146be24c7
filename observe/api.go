package observe

import (
	"encoding/json"
	"net/http"
	"sync"
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
	mu      sync.Mutex
	base    *engine.Stats // the snapshot rates are measured from
}

func (h *topologyHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	cur := h.monitor.Snapshot()
	if cur == nil {
		http.Error(w, "the pipeline has not started", http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	base := h.base
	if base == nil {
		base = &engine.Stats{}
		h.base = base
	}
	if cur.Elapsed-base.Elapsed >= loadWindow {
		h.base = cur
	}
	h.mu.Unlock()
	writeJSON(w, Diagnose(h.plan, base, cur))
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
	l := h.plan.Ledger(cur)
	writeJSON(w, struct {
		Ledger   plan.Ledger `json:"ledger"`
		Balanced bool        `json:"balanced"`
	}{l, l.Balanced()})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
