// Command millrace runs dataflow pipelines over transaction streams and histories.
//
// The command only parses flags, wires packages together and reports progress; the work is
// done by the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
)

// usageError marks a mistake in how the command was called; it exits with status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errInterrupted is wrapped by the error of a command that Ctrl-C or SIGTERM stopped; main
// then exits with 128 plus the signal's number, as a shell reports a process the signal ended.
var errInterrupted = errors.New("interrupted")

// interrupts turns Ctrl-C and SIGTERM into a graceful stop for commands that offer one
// (run: finish and publish files), and into cancellation otherwise or on the second signal.
type interrupts struct {
	graceful chan struct{} // closed on the first signal when a command asked for it
	wants    chan struct{} // closed by a command that handles graceful stops
	cancel   context.CancelFunc
	first    atomic.Int32 // the number of the first signal received, 0 before
}

type interruptsKey struct{}

// gracefulStop returns the channel closed on the first Ctrl-C; after it, a second Ctrl-C
// cancels the command's context.
func gracefulStop(ctx context.Context) <-chan struct{} {
	in, ok := ctx.Value(interruptsKey{}).(*interrupts)
	if !ok {
		return nil
	}
	close(in.wants)
	return in.graceful
}

// watch handles the signals arriving on sigs: the first stops the command gracefully if it
// asked for that and cancels it otherwise, then says so on stderr; a second cancels.
func (in *interrupts) watch(sigs <-chan os.Signal) {
	sig := <-sigs
	if n, ok := sig.(syscall.Signal); ok {
		in.first.Store(int32(n))
	}
	select {
	case <-in.wants:
		close(in.graceful)
		fmt.Fprintln(os.Stderr, "\nmillrace: stopping: finishing and publishing what was read (Ctrl-C again to abort)")
		<-sigs
		in.cancel()
	default:
		in.cancel()
		fmt.Fprintf(os.Stderr, "\nmillrace: %s: stopping\n", sig)
	}
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interrupts{graceful: make(chan struct{}), wants: make(chan struct{}), cancel: cancel}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go in.watch(sigs)
	err := newRoot().ExecuteContext(context.WithValue(ctx, interruptsKey{}, in))
	cancel()
	if err != nil {
		if in.first.Load() != 0 && errors.Is(err, context.Canceled) && !errors.Is(err, errInterrupted) {
			err = fmt.Errorf("%w: %w", errInterrupted, err) // a command that only saw its context end
		}
		fmt.Fprintln(os.Stderr, "millrace:", err)
		var u usageError
		usage := errors.As(err, &u)
		switch {
		case in.first.Load() != 0 && (errors.Is(err, errInterrupted) || !usage):
			os.Exit(128 + int(in.first.Load())) // as a shell reports a process a signal ended
		case usage:
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "millrace",
		Short: "Real-time dataflow over transaction streams and histories",
		Long: `millrace analyses streams and histories of card and account transactions: it reads
files, Kafka topics, NATS JetStream streams and records POSTed over HTTP, validates them
with dead letters, aggregates them over event-time windows, and writes Parquet, JSONL or CSV
files and Kafka or JetStream topics, exactly once.

Start with:
  millrace demo                                  generate a day of transactions and look at them
  millrace gen --rows 1000000 --out tx.parquet   generate test data
  millrace inspect tx.parquet                    decode files, count rows and dead letters
  millrace plan examples/card-velocity.yaml      see the dataflow a pipeline spec makes
  millrace run examples/card-velocity.yaml       run it`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newGenCmd(), newDemoCmd(), newInspectCmd(), newPlanCmd(), newRunCmd(), newBenchCmd())
	root.AddCommand(newScaleCmd(), newClusterCmd(), newEvalCmd())
	return root
}
