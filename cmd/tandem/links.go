package main

import (
	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/store"
)

func linksCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "links ENTITY SYSTEM:KEY|GID",
		Short: "show a record's keys in every system and its golden record",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			gid, links, err := admin.Links(ctx, st, args[0], args[1])
			if err != nil {
				return err
			}
			var gold *store.Golden
			if err := st.View(ctx, func(tx store.Tx) error {
				gold, err = tx.Golden(args[0], gid)
				return err
			}); err != nil {
				return err
			}
			admin.WriteLinks(g.stdout(cmd), args[0], gid, links, gold)
			return nil
		},
	}
}
