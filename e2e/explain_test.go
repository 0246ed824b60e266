package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/store"
)

// explain tells, for a failing test's log, what tandem's store knows of
// the records the systems disagree on: their keys in every system, their
// golden records and their change history.
func (e *env) explain(hs map[string]*holdings, disagreements []string) string {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(e.dir, "store"))
	if err != nil {
		return "cannot open the store: " + err.Error()
	}
	defer st.Close()
	var b strings.Builder
	seen := map[string]bool{}
	re := regexp.MustCompile(`^(account|contact|product) ([^\s:]+)`)
	for _, d := range first(disagreements, 5) {
		m := re.FindStringSubmatch(d)
		if m == nil || seen[m[0]] {
			continue
		}
		seen[m[0]] = true
		ent, nk := m[1], m[2]
		var ref string
		for _, s := range systemNames {
			var key string
			switch ent {
			case "account":
				key = hs[s].accounts[nk].Key
			case "contact":
				key = hs[s].contacts[nk].Key
			default:
				key = hs[s].products[nk].Key
			}
			if key != "" {
				ref = s + ":" + key
				break
			}
		}
		fmt.Fprintf(&b, "--- %s %s (%s)\n", ent, nk, ref)
		if ref == "" {
			continue
		}
		gid, links, err := admin.Links(ctx, st, ent, ref)
		if err != nil {
			fmt.Fprintf(&b, "links: %v\n", err)
			continue
		}
		err = st.View(ctx, func(tx store.Tx) error {
			g, err := tx.Golden(ent, gid)
			if err != nil {
				return err
			}
			admin.WriteLinks(&b, ent, gid, links, g)
			hist, err := tx.History(ent, gid)
			if err != nil {
				return err
			}
			for _, c := range hist {
				fmt.Fprintf(&b, "  #%d %s %s key=%s v=%d %s %v %s\n", c.Seq, c.System, c.Op, c.Key, c.Version, c.State, c.Fields, c.Note)
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(&b, "history: %v\n", err)
		}
	}
	return b.String()
}
