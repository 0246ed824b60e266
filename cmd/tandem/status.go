package main

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"tandem/internal/admin"
)

func statusCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "captured, pending, delivered, dead and lag per system and entity",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := admin.Status(ctx, st, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			return admin.WriteStatus(cmd.OutOrStdout(), rows)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}
