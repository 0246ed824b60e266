package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/hub"
)

func runCmd(g *globals) *cobra.Command {
	var setup bool
	var cpuprofile, memprofile string
	c := &cobra.Command{
		Use:   "run",
		Short: "run the hub: capture, resolve and deliver until stopped",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := g.load()
			if err != nil {
				return err
			}
			stop, err := startCPUProfile(cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			log := g.logger()
			g.warn(log, cfg)
			h, err := hub.Open(ctx, cfg, log, hub.Options{})
			if err != nil {
				return err
			}
			defer h.Close(ctx) //nolint:errcheck // closing on the way out
			if setup {
				if err := h.Setup(ctx); err != nil {
					return err
				}
			}
			log.Info("tandem running", "config", cfg.File, "store", cfg.Store.Dir, "systems", len(cfg.Systems))
			err = h.Run(ctx)
			if memprofile != "" {
				writeHeapProfile(memprofile) // before Close: what the hub held while running
			}
			log.Info("tandem stopped")
			return err
		},
	}
	c.Flags().BoolVar(&setup, "setup", false, "install capture first (same as tandem setup)")
	c.Flags().StringVar(&memprofile, "memprofile", "", "write a heap profile to this file as the hub stops (read it with go tool pprof)")
	c.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file, until it stops (read it with go tool pprof)")
	return c
}

// writeHeapProfile writes what the heap holds to path, after a GC.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
	}
}

// startCPUProfile writes a CPU profile to path until stop is called;
// with path empty it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
