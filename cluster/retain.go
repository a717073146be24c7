package cluster

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"

	"millrace/exchange"
)

// What a cluster keeps. Each unit keeps its state at the checkpoint its committed offset
// names and at the one before (a checkpoint is never read back otherwise), and the earlier
// objects whose pieces these name (pieces.go); every tenth
// checkpoint a worker deletes the rest of the state of a tenth of its units, so each unit's
// leftovers (state of checkpoints that never committed, of former owners) go within a
// hundred checkpoints. Exchange topics are trimmed below the offsets of the previous
// committed checkpoint, which no restore reads again.

// retainEvery is how many checkpoints pass between two rounds of clean-up.
const retainEvery = 10

// committedUnit is what a unit committed last and before.
type committedUnit struct {
	checkpoint, previous string
	offset, prevOffset   int64
}

// retain records what the checkpoint numbered id committed and, every retainEvery
// checkpoints, deletes old state and trims the exchanges. Failing to is no failure of the
// checkpoint: it is logged, and tried again later.
func (g *generation) retain(ctx context.Context, id uint64, states map[*unit]*unitState) {
	for u, st := range states {
		c := g.committed[u]
		if c.checkpoint != st.Checkpoint {
			c.previous, c.prevOffset = c.checkpoint, c.offset
		}
		c.checkpoint, c.offset = st.Checkpoint, st.Offset
		g.committed[u] = c
	}
	if id%retainEvery != 0 {
		return
	}
	// What the group holds now is kept too: if another worker took a unit over while
	// this one stalled, its committed state is not this one's to delete.
	now, err := kadm.NewClient(g.w.cl).FetchOffsets(kadm.RequireStable(ctx), g.w.opts.Group)
	if err != nil {
		g.w.opts.Log.Warn("delete old state: committed offsets", "err", err)
		return
	}
	round := int(id / retainEvery % retainEvery)
	for i, u := range g.units {
		if i%retainEvery != round {
			continue
		}
		c, ok := now.Lookup(u.topic, u.partition)
		if !ok || c.Err != nil {
			continue
		}
		if err := g.clean(ctx, u, c.Metadata); err != nil {
			g.w.opts.Log.Warn("delete old state", "unit", u.String(), "err", err)
		}
	}
	if err := g.trim(ctx); err != nil {
		g.w.opts.Log.Warn("trim exchanges", "err", err)
	}
}

// clean deletes every state object of u but the two it may be restored from, the one the
// group's committed offset names now, and those whose pieces they name.
func (g *generation) clean(ctx context.Context, u *unit, committedNow string) error {
	c, ok := g.committed[u]
	if !ok || c.previous == "" {
		return nil
	}
	return g.cleanKept(ctx, u, []string{c.checkpoint, c.previous, committedNow})
}

// trim deletes the records of the owned key groups of every exchange below the offsets of
// their previous committed checkpoint.
func (g *generation) trim(ctx context.Context) error {
	below := map[string]map[int32]int64{}
	for u, c := range g.committed {
		if !u.stage.Keyed() || c.previous == "" || c.prevOffset <= 0 {
			continue
		}
		if below[u.topic] == nil {
			below[u.topic] = map[int32]int64{}
		}
		below[u.topic][u.partition] = c.prevOffset
	}
	adm := kadm.NewClient(g.w.cl)
	for topic, offsets := range below {
		if err := exchange.Trim(ctx, adm, topic, offsets); err != nil {
			return err
		}
	}
	return nil
}
