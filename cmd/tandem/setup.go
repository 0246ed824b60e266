package main

import (
	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/hub"
)

func setupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "install capture (outbox tables and triggers) in every system",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			// Setup runs no hub, so it opens the store without the data
			// directory's lock and works beside a running hub.
			log := g.logger()
			g.warn(log, cfg)
			h, err := hub.Open(ctx, cfg, log, hub.Options{Store: st})
			if err != nil {
				st.Close()
				return err
			}
			defer h.Close(ctx) //nolint:errcheck // closing on the way out
			return h.Setup(ctx)
		},
	}
}
