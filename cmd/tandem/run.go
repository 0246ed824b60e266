package main

import (
	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/hub"
)

func runCmd(g *globals) *cobra.Command {
	var setup bool
	c := &cobra.Command{
		Use:   "run",
		Short: "run the hub: capture, resolve and deliver until stopped",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := g.load()
			if err != nil {
				return err
			}
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
			log.Info("tandem stopped")
			return err
		},
	}
	c.Flags().BoolVar(&setup, "setup", false, "install capture first (same as tandem setup)")
	return c
}
