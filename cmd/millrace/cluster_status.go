package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"millrace/cluster"
)

// clusterStatusTimeout bounds how long `cluster status` waits for a broker that does not
// answer.
const clusterStatusTimeout = 30 * time.Second

func newClusterStatusCmd(conn *kafkaConnFlags) *cobra.Command {
	var pipeline string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status kafka://BROKERS",
		Short: "Print the workers of a cluster: what each owns, its lag, its last checkpoint, what it waits for",
		Long: `status reads the status topic of each pipeline (millrace.<pipeline>.worker-status) up to its end now
and prints one line per worker:

  WORKER      the worker's id; "(stale)" when it has not published for 10 s: it may be gone
  HOST, GEN   where it runs, and the consumer group generation of its assignment
  OWNED       its partitions, compactly: tx/0-3 is partitions 0 to 3 of the topic tx,
              velocity 0-127 key groups 0 to 127 of the step velocity (an exchange topic)
  LAG         records its partitions hold past its position, summed
  CHECKPOINT  its newest checkpoint and how long ago it completed
  PAUSE       how long its last rebalance stopped it, and how many it has been through
  WAITING     what it waits for, if anything (its broker, the object store)

then a total, and the cluster's scaling advice: the workers it asks for, which worker made it
and why. Without --pipeline it prints every pipeline with a status topic on the
cluster. With --json it prints the statuses as the workers published them.`,
		Example: `  millrace cluster status kafka://localhost:9092
  millrace cluster status kafka://localhost:9092 --pipeline card-velocity --json | jq '.[].workers[].owned'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.conn(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), clusterStatusTimeout)
			defer cancel()
			pipelines := []string{pipeline}
			if pipeline == "" {
				if pipelines, err = cluster.StatusPipelines(ctx, c); err != nil {
					return err
				}
				if len(pipelines) == 0 {
					return fmt.Errorf("no status topic (millrace.*.worker-status) on %s: no pipeline has run in cluster mode there", strings.Join(c.Brokers, ","))
				}
			}
			var all []pipelineStatus
			for _, p := range pipelines {
				ws, adv, err := cluster.ReadCluster(ctx, c, p)
				if err != nil {
					if errors.Is(err, cluster.ErrNoStatusTopic) {
						return fmt.Errorf("%w (give --pipeline the name of a pipeline run there, or leave it out to list them)", err)
					}
					return err
				}
				all = append(all, pipelineStatus{Pipeline: p, Workers: ws, Advice: adv})
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			now := time.Now()
			for i, ps := range all {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				if err := writeClusterStatus(cmd.OutOrStdout(), ps, now); err != nil {
					return fmt.Errorf("print the workers of %s: %w", ps.Pipeline, err)
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&pipeline, "pipeline", "", "the pipeline to show (default: every pipeline with a status topic)")
	fs.BoolVar(&asJSON, "json", false, `print [{"pipeline", "workers": [status...]}] as JSON`)
	return cmd
}

// pipelineStatus is what `cluster status --json` prints for each pipeline.
type pipelineStatus struct {
	Pipeline string                 `json:"pipeline"`
	Workers  []cluster.WorkerStatus `json:"workers"`
	// Advice is the cluster's newest scaling advice, when its deciding worker made one.
	Advice *cluster.Advice `json:"advice,omitempty"`
}

// writeClusterStatus prints the workers of one pipeline, one line each, and a total, with
// ages measured at now.
func writeClusterStatus(w io.Writer, ps pipelineStatus, now time.Time) error {
	fmt.Fprintf(w, "pipeline %s (%s)\n", ps.Pipeline, cluster.StatusTopic(ps.Pipeline))
	if len(ps.Workers) == 0 {
		_, err := fmt.Fprintln(w, "no workers: every worker that ran has left")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tHOST\tGEN\tOWNED\tLAG\tCHECKPOINT\tPAUSE\tWAITING")
	var stale, partitions, groups int
	var lag int64
	for _, s := range ps.Workers {
		v := s.View()
		name := v.Worker
		if v.Stale {
			name += " (stale)"
			stale++
		}
		partitions += v.Partitions - v.KeyGroups
		groups += v.KeyGroups
		lag += v.LagRecords
		checkpoint := "-"
		if c := v.Checkpoint; c != nil {
			checkpoint = fmt.Sprintf("%d, %s ago", c.ID, age(now.Sub(c.At)))
		}
		pause := "-"
		if v.Rebalances > 0 {
			pause = fmt.Sprintf("%s (%d)", age(time.Duration(v.RebalancePause*float64(time.Second))), v.Rebalances)
		}
		waiting := v.Waiting
		if waiting == "" {
			waiting = "-"
		}
		owned := v.Owned
		if owned == "" {
			owned = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", name, v.Host, v.Generation, owned, humanInt(v.LagRecords), checkpoint, pause, waiting)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total := "total: " + plural(len(ps.Workers), "worker")
	if stale > 0 {
		total += fmt.Sprintf(" (%d stale)", stale)
	}
	total += ", " + plural(partitions, "partition") + " of input topics"
	if groups > 0 {
		total += ", " + plural(groups, "key group")
	}
	if _, err := fmt.Fprintf(w, "%s, lag %s records\n", total, humanInt(lag)); err != nil {
		return err
	}
	if a := ps.Advice; a != nil {
		_, err := fmt.Fprintf(w, "advice: %s for %d now, by %s %s ago: %s\n", plural(a.DesiredWorkers, "worker"), a.Workers, a.Decider, age(now.Sub(a.At)), a.Reason)
		return err
	}
	return nil
}

// age writes a duration briefly: 350ms, 4.2s, 3m10s, 2h5m.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}
