package main

import (
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/admin"
)

// status exits 0 when all is well, 1 when something is held, waiting
// for a parent, dead-lettered or failing, or the hub is not running, and
// 2 when it cannot tell.
func statusCmd(g *globals) *cobra.Command {
	var asJSON bool
	var opt admin.Options
	c := &cobra.Command{
		Use:   "status",
		Short: "captured, held, pending, delivered, dead and lag per system and entity; what waits and what fails",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, st, err := g.openStore(ctx)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			defer st.Close()
			now := time.Now()
			rep, err := admin.Inspect(ctx, st, cfg.Store.Dir, now, opt)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout(cmd))
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = admin.WriteReport(g.stdout(cmd), rep, now)
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := rep.Err(); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().DurationVar(&opt.Stuck, "stuck-after", admin.DefaultStuck,
		"how long a change may wait for a record it refers to before it counts as a problem")
	c.Flags().IntVar(&opt.List, "list", admin.DefaultList, "how many held changes and waiting deliveries to list")
	return c
}
