package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/hub"
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
			out := g.stdout(cmd)
			model, err := hub.Compile(cfg)
			if err != nil {
				fmt.Fprintln(out, err)
				return fmt.Errorf("%s has mistakes", g.config)
			}
			loops, lossy := model.Drifts(cfg)
			if len(loops) > 0 {
				fmt.Fprintln(out, loops.Error())
				return fmt.Errorf("%s has mistakes", g.config)
			}
			fmt.Fprintf(out, "%s is valid: %d systems, %d entities, %d routes\n",
				cfg.File, len(cfg.Systems), len(cfg.Entities), len(cfg.Routes))
			for _, w := range append(cfg.Warnings, lossy...) {
				fmt.Fprintln(out, "warning:", w.Error())
			}
			return nil
		},
	}
}
