package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/bench"
)

func benchCmd(g *globals) *cobra.Command {
	opt := bench.Options{}
	var server, cpuprofile, memprofile, workload string
	wl := bench.WorkloadOptions{}
	c := &cobra.Command{
		Use:   "bench",
		Short: "measure changes per second and latency end to end into a real PostgreSQL",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if workload != "" {
				wl.Server, wl.Batch, wl.CPUProfile, wl.MemProfile, wl.Rate = server, opt.Batch, cpuprofile, memprofile, opt.Rate
				return runWorkload(cmd, workload, wl)
			}
			if opt.Target == "postgres" && opt.DSN == "" {
				dsn, drop, err := bench.TempDatabase(ctx, server)
				if err != nil {
					return err
				}
				defer drop()
				opt.DSN = dsn
			}
			stop, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			opt.Log = g.logger()
			opt.Progress = os.Stderr
			pace := "flat out"
			if opt.Rate > 0 {
				pace = fmt.Sprintf("paced at %d/s", opt.Rate)
			}
			fmt.Fprintf(out, "tandem bench: %d changes over %d records, batch %d, %s, embedded store -> %s\n",
				opt.Changes, opt.Records, opt.Batch, pace, opt.Target)
			r, err := bench.Run(ctx, opt)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, r)
			return nil
		},
	}
	c.Flags().IntVar(&opt.Changes, "changes", 200_000, "changes to push through")
	c.Flags().IntVar(&opt.Records, "records", 100_000, "distinct records (creates first, then updates)")
	c.Flags().IntVar(&opt.Rate, "rate", 0, "pace the source at this many changes/s (0: flat out); latency percentiles mean most at a sustainable rate")
	c.Flags().IntVar(&opt.Batch, "batch", 1000, "capture and delivery batch size")
	c.Flags().StringVar(&opt.Target, "target", "postgres", "destination: postgres or memory")
	c.Flags().StringVar(&opt.DSN, "dsn", "", "destination database (default: a temporary database on --server)")
	c.Flags().StringVar(&server, "server", envOr("TANDEM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server for the temporary database")
	c.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file (read it with go tool pprof)")
	c.Flags().StringVar(&memprofile, "memprofile", "", "pg-to-pg: have the hub write a heap profile to this file as it stops")
	c.Flags().StringVar(&workload, "workload", "", "pg-to-pg: copy --rows rows between two PostgreSQL databases through tandem run, then follow --updates UPDATEs; "+
		"pg-to-pg-and-mariadb: the same with a MariaDB database (on --mariadb) as a third system")
	c.Flags().StringVar(&wl.MariaDB, "mariadb", envOr("TANDEM_TEST_MYSQL", "root@tcp(127.0.0.1:3306)/"), "pg-to-pg-and-mariadb: the MariaDB server for its database")
	c.Flags().IntVar(&wl.Rows, "rows", 200_000, "pg-to-pg: rows copied first")
	c.Flags().IntVar(&wl.Updates, "updates", 100_000, "pg-to-pg: UPDATEs followed after the copy")
	c.Flags().IntVar(&wl.PerTx, "per-tx", 1_000, "pg-to-pg: UPDATEs per source transaction")
	c.Flags().BoolVar(&wl.TwoWay, "two-way", false, "pg-to-pg: route both ways, so that the destination is captured too")
	return c
}

// runWorkload runs the named workload of `tandem bench --workload`.
func runWorkload(cmd *cobra.Command, name string, wl bench.WorkloadOptions) error {
	switch name {
	case "pg-to-pg":
		wl.MariaDB = ""
	case "pg-to-pg-and-mariadb":
	default:
		return fmt.Errorf("--workload %q: the workloads tandem knows are pg-to-pg and pg-to-pg-and-mariadb", name)
	}
	wl.Progress = os.Stderr
	r, err := bench.RunWorkload(cmd.Context(), wl)
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), r)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
