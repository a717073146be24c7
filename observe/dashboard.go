package observe

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"millrace/engine"
	"millrace/plan"
)

// web holds the dashboard: a page, a script and a style sheet, served as they are (no build
// step, no libraries), so the dashboard works offline from the binary alone.
//
//go:embed web
var web embed.FS

// dashboardHandler serves the files of the dashboard at /.
func dashboardHandler() (http.Handler, error) {
	root, err := fs.Sub(web, "web")
	if err != nil {
		return nil, fmt.Errorf("observe: embedded dashboard: %w", err)
	}
	return http.FileServerFS(root), nil
}

// streamEvery is how often /api/stream sends the figures.
const streamEvery = time.Second

// topology returns the load of every node since the handler's base snapshot, its keys
// masked, and moves the base forward once it is loadWindow old; ok is false before the run
// has started.
func (h *topologyHandler) topology() (t Topology, ok bool) {
	cur := h.monitor.Snapshot()
	if cur == nil {
		return Topology{}, false
	}
	base := h.window.Base(cur)
	t = h.redact.topology(Diagnose(h.plan, base, cur))
	if h.workers != nil {
		t = withWorkers(t, h.workers())
	}
	return t, true
}

// ledgerView is the ledger as /api/ledger and /api/stream show it.
type ledgerView struct {
	Ledger   plan.Ledger `json:"ledger"`
	Balanced bool        `json:"balanced"`
}

func newLedgerView(p *plan.Plan, st *engine.Stats) ledgerView {
	l := p.Ledger(st)
	return ledgerView{Ledger: l, Balanced: l.Balanced()}
}

// streamHandler serves /api/stream: Server-Sent Events carrying, once the run has started,
// first an "event: history" with the samples of the last few minutes (a JSON array of
// Sample, oldest first), then, every streamEvery, an "event: topology" with the JSON
// /api/topology returns and an "event: ledger" with the JSON /api/ledger returns. Before the
// run starts it sends only comments. It stops when the client goes away or the server shuts
// down (both end the request's context).
type streamHandler struct {
	top  *topologyHandler
	hist *history
}

func (h streamHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(streamEvery)
	defer t.Stop()
	history := false // sent
	for {
		if err := h.send(w, &history); err != nil {
			return // the client went away
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
}

// send writes one round of events: the topology and the ledger, after the history in the
// first round since the run started (history says whether it was sent), or a comment while
// the run has not started.
func (h streamHandler) send(w http.ResponseWriter, history *bool) error {
	top, ok := h.top.topology()
	if !ok {
		_, err := fmt.Fprint(w, ": the pipeline has not started\n\n")
		return err
	}
	if !*history {
		*history = true
		samples := h.hist.samples()
		if samples == nil {
			samples = []Sample{}
		}
		if err := writeEvent(w, "history", samples); err != nil {
			return err
		}
	}
	if err := writeEvent(w, "topology", top); err != nil {
		return err
	}
	cur := h.top.monitor.Snapshot()
	return writeEvent(w, "ledger", newLedgerView(h.top.plan, cur))
}

// writeEvent writes v as one Server-Sent Event named name; its JSON holds no newline, so
// it fits one data line.
func writeEvent(w http.ResponseWriter, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("observe: encode %s event: %w", name, err)
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	return err
}
