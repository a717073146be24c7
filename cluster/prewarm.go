package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"millrace/objstore"
)

// Pre-warming. A worker that is starting reads, before it joins the group, the newest
// committed state of the key groups of the keyed stages into its piece cache (pieceCache),
// until the cache holds Options.Prewarm bytes. At its first assignment, the restore reads
// each key group's object header and takes the pieces it names from the cache; it reads
// from the store only the pieces written since, which the worker letting the key group go
// wrote at its last checkpoints. Every piece is checked against its hash, so nothing read
// ahead is ever taken for a piece that changed since. The cache is emptied once a restore
// has taken what it needed.
//
// It reads the state of every key group, not only the ones the group will give it: the
// range balancer hands out key groups in ranges by the members' ids sorted, and a
// member's id is chosen by the brokers when it joins, so no worker can tell beforehand
// which range will be its own.

// DefaultPrewarm is how many bytes of state a worker reads ahead by default.
const DefaultPrewarm = 256 << 20

// prewarm fills the worker's piece cache; see above. Failing to is no failure of the
// worker: it logs why and joins with what it read.
func (w *worker) prewarm(ctx context.Context) {
	if w.cache == nil {
		return
	}
	t0 := time.Now()
	units, err := w.committedKeyGroups(ctx)
	if err != nil {
		w.opts.Log.Warn("pre-warm: committed offsets", "err", err)
		return
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(8)
	for _, c := range units {
		eg.Go(func() error {
			if w.cache.full() {
				return nil
			}
			return w.prewarmUnit(ectx, c.unit, c.checkpoint)
		})
	}
	if err := eg.Wait(); err != nil {
		w.opts.Log.Warn("pre-warm", "err", err)
	}
	stats, held := w.cache.counts()
	w.opts.Log.Info("pre-warmed", "objects", len(units), "pieces", stats.put, "bytes", stats.putBytes, "held", held, "took", time.Since(t0).Round(time.Millisecond))
}

// committedUnitAt is a unit and the checkpoint its committed offset names.
type committedUnitAt struct {
	unit       *unit
	checkpoint string
}

// committedKeyGroups lists the key groups of every input of the keyed stages that the
// group committed a checkpoint for, in key group order.
func (w *worker) committedKeyGroups(ctx context.Context) ([]committedUnitAt, error) {
	kopts, err := w.opts.Conn.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	committed, err := kadm.NewClient(cl).FetchOffsets(ctx, w.opts.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil, nil // the first worker of the group: nothing committed yet
	}
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", w.opts.Group, err)
	}
	var out []committedUnitAt
	for kg := range int32(w.opts.Layout.KeyGroups) {
		for _, st := range w.opts.Layout.Stages {
			for _, x := range st.Inputs {
				c, ok := committed.Lookup(x.Topic, kg)
				if ok && c.Err == nil && c.Metadata != "" {
					out = append(out, committedUnitAt{&unit{stage: st, topic: x.Topic, partition: kg}, c.Metadata})
				}
			}
		}
	}
	return out, nil
}

// prewarmUnit reads the state object of u at checkpoint and the pieces it names into the
// cache.
func (w *worker) prewarmUnit(ctx context.Context, u *unit, checkpoint string) error {
	key := stateKey(w.opts.Layout.Pipeline, u.topic, u.partition, checkpoint)
	st, data, start, err := w.readState(ctx, key, false)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil // its owner has moved on and deleted it since
	}
	if err != nil {
		return fmt.Errorf("state of %s: %w", u, err)
	}
	if st.refs == nil {
		return nil // version 1: its parts are not pieces
	}
	pieces, err := w.fetchPieces(ctx, nil, u, st, data, start)
	if err != nil {
		return err
	}
	for h, p := range pieces {
		w.cache.put(h, p)
	}
	return nil
}
