package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func checkCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "validate the configuration and explain every mistake",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), err)
				return fmt.Errorf("%s has mistakes", g.config)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid: %d systems, %d entities, %d routes\n",
				cfg.File, len(cfg.Systems), len(cfg.Entities), len(cfg.Routes))
			return nil
		},
	}
}
