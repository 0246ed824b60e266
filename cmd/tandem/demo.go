package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/demo"
)

func demoCmd(g *globals) *cobra.Command {
	opt := demo.Options{}
	c := &cobra.Command{
		Use:   "demo",
		Short: "three SQLite systems and a simulated CRM edited at once, kept in step live; exits 0 only if they agree",
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Out = cmd.OutOrStdout()
			opt.Log = g.logger()
			opt.Seed = uint64(time.Now().UnixNano())
			return demo.Run(cmd.Context(), opt)
		},
	}
	c.Flags().DurationVar(&opt.Duration, "duration", 30*time.Second, "how long to keep editing")
	c.Flags().Float64Var(&opt.Rate, "rate", 20, "edits a second in each system")
	c.Flags().StringVar(&opt.Dir, "dir", "", "keep the systems and the store here (default: a temporary directory, removed after)")
	return c
}
