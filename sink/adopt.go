package sink

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// Taking over the files of other runs. Processes that write one directory at once (the
// workers of a cluster) name their part files with a prefix of their own run
// (FileOptions.Prefix), and a run that resumes from what another one committed adopts
// that run's state: it publishes the files the state pre-committed and removes the other
// hidden files of the run's subtask, which hold rows written after the checkpoint and are
// written again. It removes nothing of any other run, which may be writing now.
//
// A state may be taken over twice, by two runs that each restore some of what its writer
// committed: both publish the same files, and publishing is idempotent (a file already
// under its final name, and no longer under its pending one, was published). Neither
// removes a pre-committed file that the other is yet to publish, as long as every copy of
// the state that is restored is the writer's last committed one, which holds every file
// pre-committed and not yet published: a run adopts a state only once its writer can
// commit nothing more.

// adopt resumes from st, a state another run wrote (or several, merged): it publishes the
// part files st pre-committed and removes the hidden files of every subtask st stands for,
// and of this subtask, then writes files of its own names. A single file is written whole
// by one run, and refuses another's state.
func (f *File) adopt(st fileState) error {
	if !f.opts.Dir {
		return fmt.Errorf("sink %s: restore: the state of run %q: a single file is written by one run", f.opts.Path, st.Prefix)
	}
	f.ckpt, f.begun = true, true
	f.seq = st.Seq // names of this prefix the state's run may have used, if it is this one's
	f.swept = append([]owner{{Prefix: st.Prefix, Subtask: st.Subtask}}, st.Adopt...)
	for _, sub := range st.Sweep {
		f.swept = append(f.swept, owner{Prefix: st.Prefix, Subtask: sub})
	}
	if err := f.publishParts(st.Pending); err != nil {
		return err
	}
	return f.sweep(nil)
}

// Merge combines states of a part-file sink, each of which Snapshot wrote in some run (or
// Merge made), into one that a subtask restores: the pre-committed files of every one,
// each once, oldest checkpoint first, and every subtask they stand for, whose hidden files
// Restore removes. Copies of one state merge into that state. A worker of a cluster merges
// the copies of the sink's state that the key groups it takes over carry.
func (f *File) Merge(states [][]byte) ([]byte, error) {
	var distinct [][]byte
	for _, state := range states {
		if state != nil && !slices.ContainsFunc(distinct, func(d []byte) bool { return bytes.Equal(d, state) }) {
			distinct = append(distinct, state)
		}
	}
	if len(distinct) == 1 {
		if _, err := f.parseState(distinct[0]); err != nil {
			return nil, fmt.Errorf("sink %s: merge states: %w", f.opts.Path, err)
		}
		return distinct[0], nil
	}
	var out *fileState
	seen := map[string]bool{}
	own := map[owner]bool{}
	for i, state := range distinct {
		st, err := f.parseState(state)
		if err != nil {
			return nil, fmt.Errorf("sink %s: merge state %d of %d: %w", f.opts.Path, i+1, len(distinct), err)
		}
		if !f.opts.Dir {
			return nil, fmt.Errorf("sink %s writes one file, which one run writes whole: its states do not merge", f.opts.Path)
		}
		owners := append([]owner{{Prefix: st.Prefix, Subtask: st.Subtask}}, st.Adopt...)
		for _, sub := range st.Sweep {
			owners = append(owners, owner{Prefix: st.Prefix, Subtask: sub})
		}
		if out == nil {
			out = &fileState{Version: stateVersion, Prefix: st.Prefix, Subtask: st.Subtask}
			own[owners[0]] = true
			owners = owners[1:]
		}
		out.Checkpoint, out.Seq = max(out.Checkpoint, st.Checkpoint), max(out.Seq, st.Seq)
		for _, o := range owners {
			if !own[o] {
				own[o] = true
				out.Adopt = append(out.Adopt, o)
			}
		}
		for _, p := range st.Pending {
			if !seen[p.Path] {
				seen[p.Path] = true
				out.Pending = append(out.Pending, p)
			}
		}
	}
	if out == nil {
		return nil, nil
	}
	slices.SortStableFunc(out.Pending, func(a, b pendingFile) int { return cmp.Compare(a.Checkpoint, b.Checkpoint) })
	merged, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("sink %s: merge states: %w", f.opts.Path, err)
	}
	return merged, nil
}
