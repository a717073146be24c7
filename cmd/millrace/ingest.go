package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"millrace/ingest"
	"millrace/job"
	"millrace/listen"
	"millrace/spec"
)

// defaultIngestListen is where run takes the records of http sources unless told otherwise.
const defaultIngestListen = "127.0.0.1:8081"

// httpEndpoints are the ingest endpoints of s's http sources.
func httpEndpoints(s *spec.Spec) ([]ingest.Endpoint, error) {
	var eps []ingest.Endpoint
	for _, src := range s.Sources {
		if src.Kind != spec.SourceHTTP {
			continue
		}
		sch, err := src.ArrowSchema()
		if err != nil {
			return nil, s.Errorf("sources."+src.Name, "%v", err)
		}
		eps = append(eps, ingest.Endpoint{Source: src.Name, Path: src.Path, Schema: sch, MaxBody: src.HTTP.MaxBody, MaxBacklog: src.HTTP.MaxBacklog})
	}
	return eps, nil
}

// runningIngest is HTTP ingest while a run goes on: the store and the listener.
type runningIngest struct {
	svc  *ingest.Service
	srv  *listen.Server
	lock *job.Lock
}

// startIngest starts HTTP ingest for the http sources of s, if it has any: the store under
// stateDir/ingest, served at addr under the listener rules of lf. It returns nil when s has
// no http source.
func startIngest(ctx context.Context, cmd *cobra.Command, s *spec.Spec, stateDir, addr string, lf *listenFlags) (*runningIngest, error) {
	eps, err := httpEndpoints(s)
	if err != nil || len(eps) == 0 {
		return nil, err
	}
	if stateDir == "" {
		return nil, usagef("http sources need checkpoints: their records are acknowledged by them; drop --no-checkpoint")
	}
	// The store is taken before the job locks the checkpoints, so it has a lock of its
	// own: two runs of a pipeline never share one embedded server's files.
	dir := filepath.Join(stateDir, "ingest")
	lock, err := job.LockDir(dir, "millrace "+strings.Join(os.Args[1:], " "))
	if err != nil {
		if errors.Is(err, job.ErrLocked) {
			return nil, usageError{err}
		}
		return nil, err
	}
	svc, err := ingest.Open(ctx, dir, eps)
	if err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	cfg := lf.config(addr)
	cfg.MaxBody = svc.Handler().MaxBody()
	srv, err := listen.Serve(cfg, svc.Handler())
	if err != nil {
		_ = svc.Close()  // the listener's error is the one to report
		_ = lock.Close() // as above
		return nil, usageError{fmt.Errorf("--ingest-listen: %w", exposedHint(err))}
	}
	for _, ep := range eps {
		path := ep.Path
		if path == "" {
			path = "/ingest/" + ep.Source
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "source %s takes records at POST %s%s\n", ep.Source, srv.URL(), path)
	}
	return &runningIngest{svc: svc, srv: srv, lock: lock}, nil
}

// URL is the address of the embedded server the http sources read from.
func (r *runningIngest) URL() string {
	if r == nil {
		return ""
	}
	return r.svc.URL()
}

// Close stops taking records, then stops the store and lets it go.
func (r *runningIngest) Close() error {
	if r == nil {
		return nil
	}
	return errors.Join(r.srv.Close(), r.svc.Close(), r.lock.Close())
}

// serveIngest starts HTTP ingest for the spec at path when it has http sources; the
// returned value is nil otherwise (its methods then do nothing).
func serveIngest(cmd *cobra.Command, path string, cp *checkpointFlags, addr string, lf *listenFlags) (*runningIngest, error) {
	ctx := cmd.Context()
	s, err := spec.LoadContext(ctx, path)
	if err != nil {
		if errors.Is(err, spec.ErrInvalid) {
			return nil, usageError{err}
		}
		return nil, err
	}
	var stateDir string
	if c := cp.checkpointing(s.Name); c != nil {
		stateDir = c.Dir
	}
	return startIngest(ctx, cmd, s, stateDir, addr, lf)
}
