package main

import (
	"github.com/spf13/cobra"

	"tandem/internal/hub"
)

func setupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "install capture (outbox tables and triggers) in every system",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := g.load()
			if err != nil {
				return err
			}
			h, err := hub.Open(ctx, cfg, g.logger(), hub.Options{})
			if err != nil {
				return err
			}
			defer h.Close(ctx) //nolint:errcheck // closing on the way out
			return h.Setup(ctx)
		},
	}
}
