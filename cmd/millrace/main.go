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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
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
	root.AddCommand(newGenCmd(), newDemoCmd(), newInspectCmd())
	return root
}
