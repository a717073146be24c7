package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"millrace/kafka"
	"millrace/objstore"
	"millrace/scale"
)

// Advice is the scaling advice of a whole cluster: what the scaling advisor of its deciding
// worker said after observing every worker's figures together, published on the status
// topic so that every worker serves the same one.
type Advice struct {
	scale.Advice
	// Decider is the worker that made it.
	Decider string `json:"decider"`
	// Observations counts the observations of the cluster the advisor has made, over every
	// worker that decided so far: the history its forecast stands on.
	Observations int `json:"observations"`
}

// adviceKey is the key of the advice's records on the status topic, which keeps only the
// newest; adviceHeader marks them, so that no worker's status is taken for one.
const (
	adviceKey    = "millrace/advice"
	adviceHeader = "millrace-record"
)

// DecidingUnit is the partition whose owner decides the cluster's advice: partition 0 of
// the first topic the workers consume. The group gives it to exactly one worker at a time
// and hands it on at every rebalance, so a deciding worker that dies is followed by the one
// that takes the partition over.
func (l *Layout) DecidingUnit() (topic string, partition int32) {
	topics := l.Topics()
	if len(topics) == 0 {
		return "", 0
	}
	return topics[0], 0
}

// AdvisorKey is the object of the state store that keeps the advisor's state of pipeline
// (its history, as scale.Advisor encodes it), beside the state of the key groups.
func AdvisorKey(pipeline string) string { return pipeline + "/advisor/state.json" }

// advisorState is what the deciding worker stores after each observation.
type advisorState struct {
	Observations int             `json:"observations"`
	Advisor      json.RawMessage `json:"advisor"`
}

// AdvisingOptions configures the advice of a cluster on one worker.
type AdvisingOptions struct {
	Layout *Layout
	// Worker is this worker's id.
	Worker string
	// Config configures the advisor; its Sources name the plan's sources. Its Workers are
	// set to the live workers before each observation.
	Config scale.AdvisorConfig
	// Store is the cluster's state store, where the advisor's state lives.
	Store objstore.Store
	// Conn reaches the brokers of the status topic.
	Conn kafka.Conn
	// Status follows the status topic: the workers the advisor observes, the advice served.
	Status *StatusFollower
	Log    *slog.Logger
}

// Advising makes and serves the advice of a cluster on one worker. Every advisor step the
// worker that owns the deciding unit (Layout.DecidingUnit) merges the figures every worker
// published into one run of the pipeline (LoadMeter), observes it with a scale.Advisor, stores
// the advisor's state in the state store and publishes the advice on the status topic; a
// worker that starts deciding first loads the state its predecessor stored. Every worker
// serves the newest advice published (Latest).
type Advising struct {
	opts   AdvisingOptions
	pub    *StatusPublisher
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	deciding bool

	// Owned by the loop's goroutine.
	advisor      *scale.Advisor
	meter        *LoadMeter
	observations int
}

// StartAdvising starts the advice of a cluster on this worker; ctx covers the connection to
// the status topic only. Tell it every assignment (Assigned); Close stops it.
func StartAdvising(ctx context.Context, opts AdvisingOptions) (*Advising, error) {
	if opts.Layout == nil || opts.Store == nil || opts.Status == nil || opts.Worker == "" {
		return nil, errors.New("cluster: advising needs a layout, a state store, the status follower and the worker's id")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	pub, err := NewStatusPublisher(ctx, opts.Conn, opts.Layout.Pipeline)
	if err != nil {
		return nil, err
	}
	run, cancel := context.WithCancel(context.Background())
	a := &Advising{opts: opts, pub: pub, cancel: cancel, done: make(chan struct{})}
	go a.loop(run)
	return a, nil
}

// Assigned tells the advising what the group gave the worker now: whether it decides.
func (a *Advising) Assigned(owned map[string][]int32) {
	topic, part := a.opts.Layout.DecidingUnit()
	deciding := false
	for _, p := range owned[topic] {
		deciding = deciding || p == part
	}
	a.mu.Lock()
	a.deciding = deciding
	a.mu.Unlock()
}

// Latest returns the newest advice published by the cluster's deciding worker; ok is false
// before the first.
func (a *Advising) Latest() (scale.Advice, bool) {
	adv, ok := a.opts.Status.Advice()
	return adv.Advice, ok
}

// Close stops the advising and waits for its goroutine.
func (a *Advising) Close() error {
	a.cancel()
	<-a.done
	return a.pub.Close()
}

func (a *Advising) loop(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(a.opts.Config.Step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.step(ctx, now)
		}
	}
}

// step observes the cluster once if the worker decides, and forgets the advisor if it no
// longer does: the next worker to decide loads the state from the store.
func (a *Advising) step(ctx context.Context, now time.Time) {
	a.mu.Lock()
	deciding := a.deciding
	a.mu.Unlock()
	if !deciding {
		if a.advisor != nil {
			a.opts.Log.Info("no longer deciding the cluster's advice")
		}
		a.advisor, a.meter = nil, nil
		return
	}
	if a.advisor == nil {
		if err := a.load(ctx); err != nil {
			a.opts.Log.Warn("cannot load the advisor's state; trying again next step", "err", err)
			return
		}
	}
	ws := a.opts.Status.Workers()
	a.advisor.SetWorkers(Live(ws))
	a.advisor.SetRestartCost(RestartCost(ws))
	adv := a.advisor.Observe(now, a.meter.Add(now, ws))
	a.observations++
	if err := a.save(ctx); err != nil {
		a.opts.Log.Warn("store the advisor's state", "err", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out := Advice{Advice: adv, Decider: a.opts.Worker, Observations: a.observations}
	if err := a.pub.PublishAdvice(pctx, out); err != nil && ctx.Err() == nil {
		a.opts.Log.Warn("publish the cluster's advice", "err", err)
	}
}

// load makes the advisor of a worker that starts deciding, from the state in the store if
// a worker decided before.
func (a *Advising) load(ctx context.Context) error {
	adv, err := scale.NewAdvisor(a.opts.Config)
	if err != nil {
		return err
	}
	key := AdvisorKey(a.opts.Layout.Pipeline)
	gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	data, err := a.opts.Store.Get(gctx, key)
	var st advisorState
	switch {
	case errors.Is(err, objstore.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read advisor state %s in %s: %w", key, a.opts.Store, err)
	default:
		if err := json.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("advisor state %s in %s: %w", key, a.opts.Store, err)
		}
		if err := adv.UnmarshalJSON(st.Advisor); err != nil {
			return fmt.Errorf("advisor state %s in %s: %w", key, a.opts.Store, err)
		}
	}
	a.advisor, a.meter, a.observations = adv, &LoadMeter{}, st.Observations
	a.opts.Log.Info("deciding the cluster's advice", "observations", st.Observations, "state", key)
	return nil
}

// save stores the advisor's state, with the observations so far.
func (a *Advising) save(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return StoreAdvisor(pctx, a.opts.Store, a.opts.Layout.Pipeline, a.advisor, a.observations)
}

// StoreAdvisor writes the state of adv, an advisor that has made observations of the
// cluster of pipeline, to store at AdvisorKey: the worker that decides next goes on from
// its history, as from that of a worker that decided before.
func StoreAdvisor(ctx context.Context, store objstore.Store, pipeline string, adv *scale.Advisor, observations int) error {
	hist, err := adv.MarshalJSON()
	if err != nil {
		return err
	}
	data, err := json.Marshal(advisorState{Observations: observations, Advisor: hist})
	if err != nil {
		return err
	}
	key := AdvisorKey(pipeline)
	if err := store.Put(ctx, key, data); err != nil {
		return fmt.Errorf("write advisor state %s in %s: %w", key, store, err)
	}
	return nil
}
