package observe

import (
	"net/http"

	"millrace/engine"
)

// The health probes a scheduler such as Kubernetes sends. They answer without the token
// (listen.Config.Open), so what they say is only whether the process serves and whether
// its pipeline runs: no figure, name or error.
const (
	// LivePath answers 200 while the server serves: the process is alive.
	LivePath = "/healthz"
	// ReadyPath answers 200 once the pipeline has started running (a run of the watched
	// monitor has begun; it stays ready through the stop and restart of a rescale or a
	// rebalance), and 503 before.
	ReadyPath = "/readyz"
)

// healthPaths are the routes of the health probes.
var healthPaths = []string{LivePath, ReadyPath}

// health answers the probes of the run that monitor watches.
type health struct{ monitor *engine.Monitor }

// route adds the probes to mux.
func (h health) route(mux *http.ServeMux) {
	mux.HandleFunc(LivePath, h.live)
	mux.HandleFunc(ReadyPath, h.ready)
}

func (h health) live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n")) // a probe that went away needs no answer
}

func (h health) ready(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.monitor.Snapshot() == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("starting\n")) // a probe that went away needs no answer
		return
	}
	_, _ = w.Write([]byte("ok\n")) // a probe that went away needs no answer
}
