package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/torture"
)

func tortureCmd(_ *globals) *cobra.Command {
	opt := torture.Options{}
	var faults, systems string
	var asJSON bool
	var show int
	c := &cobra.Command{
		Use:   "torture",
		Short: "run tandem against real systems under faults and count every record lost, doubled or wrong",
		Long: `torture builds real systems on loopback (PostgreSQL, MariaDB, SQLite, json-server, the CRM
simulator of tandem crmsim, and an application on RabbitMQ or NATS that uses tandem's client
package), writes a tandem.yaml for them and runs the tandem binary on it, while concurrent writers
create, update and delete records in every system and faults are injected on a schedule: SIGKILL
of the hub, cut or slow connections to the databases and the broker, an API answering 429 or 500,
timing out or losing its answers, reused keys, and a lost data directory. When the writers stop it waits for the systems to agree and counts
records lost, duplicated, resurrected, orphaned, with wrong references or values no user wrote,
and changes still moving. It exits non-zero if any count is not zero, listing the records.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if faults == "none" {
				opt.Faults = []string{}
			} else if faults != "" {
				opt.Faults = strings.Split(faults, ",")
			}
			if systems != "" {
				opt.Systems = strings.Split(systems, ",")
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			opt.Tandem = bin
			if opt.JSONServer == "" {
				opt.JSONServer = findJSONServer()
			}
			if opt.JSONServer == "" && (len(opt.Systems) == 0 || slices.Contains(opt.Systems, "shop")) {
				return errors.New("json-server is not installed: run `npm install --prefix ~/.cache/tandem-npm json-server@0.17.4` or pass --json-server")
			}
			if opt.Seed == 0 {
				opt.Seed = uint64(time.Now().UnixNano() % 1_000_000)
			}
			opt.Out = cmd.ErrOrStderr()
			rep, err := torture.Run(cmd.Context(), opt)
			if rep != nil {
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					_ = enc.Encode(rep)
				} else {
					printTorture(cmd, rep, show)
				}
			}
			return err
		},
	}
	f := c.Flags()
	f.Uint64Var(&opt.Seed, "seed", 0, "seed of the workload and the fault schedule (0: pick one)")
	f.DurationVar(&opt.Duration, "duration", 90*time.Second, "how long the writers write")
	f.IntVar(&opt.Writers, "writers", 4, "concurrent writers")
	f.Float64Var(&opt.Rate, "rate", 30, "user actions a second, all writers together")
	f.StringVar(&faults, "faults", "", "faults to inject, comma-separated: "+strings.Join(torture.FaultKinds, ", ")+" (default all; none for none)")
	f.StringVar(&systems, "systems", "", "systems to build, comma-separated: "+strings.Join(torture.SystemNames, ", ")+" (default all)")
	f.StringVar(&opt.Dir, "dir", "", "work directory (default a new temporary one, kept when the run fails)")
	f.StringVar(&opt.JSONServer, "json-server", "", "json-server 0.17.4 binary (default $TANDEM_JSON_SERVER, ~/.cache/tandem-npm, PATH)")
	f.StringVar(&opt.Postgres, "postgres", envOr("TANDEM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"), "PostgreSQL DSN of a user who may create databases")
	f.StringVar(&opt.Broker, "broker", "rabbitmq", "the queue system's broker: rabbitmq or nats")
	f.StringVar(&opt.RabbitMQ, "rabbitmq", envOr("TANDEM_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	f.StringVar(&opt.NATS, "nats", envOr("TANDEM_TEST_NATS", "nats://127.0.0.1:4222"), "NATS (JetStream) URL")
	f.StringVar(&opt.MySQL, "mysql", envOr("TANDEM_TEST_MYSQL", "root@tcp(127.0.0.1:3306)/"), "MariaDB/MySQL DSN of a user who may create databases")
	f.DurationVar(&opt.Converge, "converge", 3*time.Minute, "how long to wait for the systems to agree once edits stop")
	f.StringVar(&opt.HubLog, "hub-log-level", "debug", "log level of the hub under test (its log is tandem.log in the work directory, kept when the run fails)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.IntVar(&show, "show", 50, "how many problems to print")
	return c
}

func printTorture(cmd *cobra.Command, rep *torture.Report, show int) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "seed %d: %d creates, %d updates, %d deletes\n", rep.Seed, rep.Creates, rep.Updates, rep.Deletes)
	fmt.Fprintf(w, "faults: %v\n", rep.Faults)
	fmt.Fprintf(w, "counts: %s\n", rep.Counts)
	if rep.Convergence > 0 {
		fmt.Fprintf(w, "converged in %s\n", rep.Convergence.Round(10*time.Millisecond))
	}
	for i, p := range rep.Problems {
		if i == show {
			fmt.Fprintf(w, "… and %d more\n", len(rep.Problems)-show)
			break
		}
		fmt.Fprintln(w, "  "+p)
	}
	if !rep.Counts.Zero() || len(rep.Problems) > 0 {
		fmt.Fprintf(w, "FAIL (work directory kept: %s)\n", rep.Dir)
		return
	}
	fmt.Fprintln(w, "OK: nothing lost, doubled, resurrected or wrong")
}

// findJSONServer looks where .ci/run installs json-server, then on PATH.
func findJSONServer() string {
	if p := os.Getenv("TANDEM_JSON_SERVER"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	dir := os.Getenv("TANDEM_NPM_DIR")
	if dir == "" {
		dir = filepath.Join(home, ".cache", "tandem-npm")
	}
	if p := filepath.Join(dir, "node_modules", ".bin", "json-server"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("json-server"); err == nil {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
