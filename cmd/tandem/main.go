package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/secret"
	"github.com/tandemhub/tandem/internal/store"
)

type globals struct {
	config   string
	logLevel string
	// redact masks the configuration's secrets in all tandem prints and
	// logs, once it is loaded.
	redact *secret.Redactor
}

// memLimit is the heap size tandem keeps under by default (see
// runtime/debug.SetMemoryLimit): with the store's caches bounded, a hub's
// live heap is a few tens of megabytes, and the process stays under
// 200 MB.
const memLimit = 150 << 20

func main() {
	if os.Getenv("GOGC") == "" {
		// tandem's heap is mostly short-lived batches; collecting less
		// often buys throughput. GOGC overrides.
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// ...but not at the price of memory: the heap is collected as it
		// nears memLimit, whatever GOGC says. GOMEMLIMIT overrides.
		debug.SetMemoryLimit(memLimit)
	}
	g := &globals{}
	root := &cobra.Command{
		Use:           "tandem",
		Short:         "tandem keeps records in step across your systems",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.config, "config", "c", "tandem.yaml", "configuration file")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(runCmd(g), checkCmd(g), setupCmd(g), statusCmd(g), dlqCmd(g), linksCmd(g), demoCmd(g), benchCmd(g), crmsimCmd(g), tortureCmd(g), versionCmd())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "tandem:", g.redact.String(err.Error()))
		os.Exit(code)
	}
}

// exitError ends tandem with its own exit code rather than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(g.redact.Handler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})))
}

// load reads and validates the configuration, and from then on masks
// its secrets in what tandem prints and logs.
func (g *globals) load() (*config.Config, error) {
	cfg, err := config.Load(g.config)
	if err != nil {
		return nil, err
	}
	g.redact = cfg.Redactor()
	return cfg, nil
}

// warn logs what is unwise in the configuration.
func (g *globals) warn(log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w.Error())
	}
}

// stdout is where a command prints, with the configuration's secrets masked.
func (g *globals) stdout(cmd *cobra.Command) io.Writer {
	return g.redact.Writer(cmd.OutOrStdout())
}

// openStore opens the store named by the configuration, for commands
// that only read or administer it.
func (g *globals) openStore(ctx context.Context) (*config.Config, store.Store, error) {
	cfg, err := g.load()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.OpenSQLite(ctx, cfg.Store.Dir)
	return cfg, st, err
}
