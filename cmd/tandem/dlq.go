package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/store"
)

func dlqCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "dlq", Short: "inspect and act on dead letters"}
	var state string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "list dead letters (open ones unless --state is given)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if state == "all" {
				state = ""
			}
			ds, err := admin.DeadLetters(ctx, st, store.DeadState(state), 1000)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout(cmd)).Encode(ds)
			}
			return admin.WriteDeadLetters(g.stdout(cmd), ds)
		},
	}
	list.Flags().StringVar(&state, "state", "open", "open, retry, retried, discarded, resolved or all")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(list, dlqAct(g, "retry", store.DeadRetry, "retry dead letters: the running hub re-reads or re-delivers them"),
		dlqAct(g, "discard", store.DeadDiscarded, "give up on dead letters"))
	return c
}

func dlqAct(g *globals, name string, to store.DeadState, short string) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   name + " ID... | --all",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var ids []int64
			if all {
				if ids, err = admin.OpenIDs(ctx, st); err != nil {
					return err
				}
			}
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return fmt.Errorf("%q is not a dead letter id (see tandem dlq list)", a)
				}
				ids = append(ids, id)
			}
			if len(ids) == 0 {
				return fmt.Errorf("name dead letter ids or use --all")
			}
			if err := admin.SetDead(ctx, st, ids, to); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d dead letters marked %s\n", len(ids), to)
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "every open dead letter")
	return c
}
