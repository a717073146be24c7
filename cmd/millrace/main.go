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
	"syscall"

	"github.com/spf13/cobra"
)

// usageError marks a mistake in how the command was called; it exits with status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// interrupts turns Ctrl-C and SIGTERM into a graceful stop for commands that offer one
// (run: finish and publish files), and into cancellation otherwise or on the second signal.
type interrupts struct {
	graceful chan struct{} // closed on the first signal when a command asked for it
	wants    chan struct{} // closed by a command that handles graceful stops
	cancel   context.CancelFunc
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

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interrupts{graceful: make(chan struct{}), wants: make(chan struct{}), cancel: cancel}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		select {
		case <-in.wants:
			fmt.Fprintln(os.Stderr, "\nmillrace: stopping: finishing and publishing what was read (Ctrl-C again to abort)")
			close(in.graceful)
			<-sigs
		default:
		}
		cancel()
	}()
	err := newRoot().ExecuteContext(context.WithValue(ctx, interruptsKey{}, in))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "millrace:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "millrace",
		Short: "Real-time dataflow over transaction streams and histories",
		Long: `millrace analyses streams and histories of card and account transactions:
ingest from files and brokers, validate with dead letters, window and score, and write to a
Parquet lake and alert topics.

Start with:
  millrace demo                                  generate a day of transactions and look at them
  millrace gen --rows 1000000 --out tx.parquet   generate test data
  millrace inspect tx.parquet                    decode files, count rows and dead letters`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newGenCmd(), newDemoCmd(), newInspectCmd(), newPlanCmd(), newRunCmd(), newBenchCmd())
	root.AddCommand(newScaleCmd())
	return root
}
