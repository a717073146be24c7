package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
)

// Options configures a Fleet.
type Options struct {
	// Path is the executable every worker runs.
	Path string
	// Args returns the arguments of the worker with id worker in slot (0 for the first
	// worker; a worker takes the lowest slot free, so a slot can hold its own --listen port).
	Args func(worker string, slot int) []string
	// Env is the workers' environment; nil gives them this process's.
	Env []string
	// Output receives every line the workers write to stdout or stderr, prefixed by the
	// worker's id in brackets: "[w2] joining ...".
	Output io.Writer
}

// Fleet is a set of worker processes on this machine. Its methods are safe for concurrent
// use.
type Fleet struct {
	opts  Options
	out   *lineWriter
	ended chan Exit

	mu    sync.Mutex
	procs []*proc // running or stopping, oldest first
	wg    sync.WaitGroup
}

// proc is one worker process.
type proc struct {
	id       string
	slot     int
	cmd      *exec.Cmd
	done     chan struct{}
	err      error // set before done closes
	stopping bool
}

// Exit is a worker that ended without being stopped, and how.
type Exit struct {
	Worker string
	Err    error
}

// New returns a fleet that runs no worker yet.
func New(opts Options) *Fleet {
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	return &Fleet{opts: opts, out: &lineWriter{w: opts.Output}, ended: make(chan Exit, 64)}
}

// Ended receives each worker that ends without Stop or StopAll asking it to.
func (f *Fleet) Ended() <-chan Exit { return f.ended }

// Running returns the ids of the workers running, oldest first, those being stopped left
// out.
func (f *Fleet) Running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.procs {
		if !p.stopping {
			out = append(out, p.id)
		}
	}
	return out
}

// Start starts n more workers and returns their ids. A worker that cannot be started
// stops the start there, with the error.
func (f *Fleet) Start(n int) ([]string, error) {
	var ids []string
	for range n {
		id, err := f.startOne()
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (f *Fleet) startOne() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	slot := 0
	for slices.ContainsFunc(f.procs, func(p *proc) bool { return p.slot == slot }) {
		slot++
	}
	id := "w" + strconv.Itoa(slot+1)
	cmd := exec.Command(f.opts.Path, f.opts.Args(id, slot)...)
	cmd.Env = f.opts.Env
	out := f.out.prefixed("[" + id + "] ")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = ownGroup()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start worker %s (%s): %w", id, f.opts.Path, err)
	}
	p := &proc{id: id, slot: slot, cmd: cmd, done: make(chan struct{})}
	f.procs = append(f.procs, p)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		err := cmd.Wait()
		out.flush()
		f.mu.Lock()
		p.err = err
		f.procs = slices.DeleteFunc(f.procs, func(q *proc) bool { return q == p })
		stopping := p.stopping
		f.mu.Unlock()
		close(p.done)
		if !stopping {
			select {
			case f.ended <- Exit{Worker: id, Err: err}:
			default:
			}
		}
	}()
	return id, nil
}

// Stop stops the n newest workers gracefully, one after the other: each is sent SIGTERM
// and waited for, so that each leaves the group in a rebalance of its own. ctx ending
// kills the worker being stopped and those left (SIGKILL). It returns the ids stopped and
// the first error a worker ended with.
func (f *Fleet) Stop(ctx context.Context, n int) ([]string, error) {
	var ids []string
	var first error
	for range n {
		f.mu.Lock()
		var p *proc
		for i := len(f.procs) - 1; i >= 0; i-- {
			if !f.procs[i].stopping {
				p = f.procs[i]
				break
			}
		}
		if p != nil {
			p.stopping = true
		}
		f.mu.Unlock()
		if p == nil {
			break
		}
		if err := f.stop(ctx, p); err != nil && first == nil {
			first = err
		}
		ids = append(ids, p.id)
	}
	return ids, first
}

// StopAll stops every worker gracefully at once and waits for them; ctx ending kills
// those left (SIGKILL). It returns the first error a worker ended with.
func (f *Fleet) StopAll(ctx context.Context) error {
	f.mu.Lock()
	procs := slices.Clone(f.procs)
	for _, p := range procs {
		p.stopping = true
	}
	f.mu.Unlock()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.stop(ctx, p)
		}()
	}
	wg.Wait()
	f.wg.Wait()
	return errors.Join(errs...)
}

// stop sends p SIGTERM and waits for it to end, or kills it when ctx ends first.
func (f *Fleet) stop(ctx context.Context, p *proc) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop worker %s: %w", p.id, err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.cmd.Process.Kill() // it may have ended meanwhile
		<-p.done
		return fmt.Errorf("worker %s killed: %w", p.id, ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("worker %s: %w", p.id, p.err)
	}
	return nil
}

// lineWriter writes whole lines to w, from several writers each with its own prefix, so
// that the workers' lines never mix.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) prefixed(prefix string) *prefixWriter {
	return &prefixWriter{to: l, prefix: []byte(prefix)}
}

func (l *lineWriter) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b) // the workers' output is shown as it comes; a failing terminal is not theirs to handle
}

// prefixWriter writes each line given to it, prefixed, once it is whole.
type prefixWriter struct {
	to     *lineWriter
	prefix []byte
	mu     sync.Mutex
	buf    []byte
}

// Write takes the bytes of one worker's output.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.to.write(slices.Concat(p.prefix, p.buf[:i+1]))
		p.buf = p.buf[i+1:]
	}
}

// flush writes what is left of a last line without its newline.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.to.write(slices.Concat(p.prefix, p.buf, []byte("\n")))
		p.buf = nil
	}
}
