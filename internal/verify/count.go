package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/mapping"
)

// Counts is the number of rows of each entity in each system.
type Counts map[string]map[string]int // entity → system → rows

func (c Counts) String() string {
	var parts []string
	for _, ent := range sortedKeys(c) {
		var per []string
		for _, sys := range sortedKeys(c[ent]) {
			per = append(per, fmt.Sprintf("%s %d", sys, c[ent][sys]))
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", ent, strings.Join(per, ", ")))
	}
	return strings.Join(parts, "; ")
}

// Count reads how many rows of each mapped entity every system holds.
func Count(ctx context.Context, cfg *config.Config, maps map[string]map[string]*mapping.Map,
	systems map[string]connector.Source) (Counts, error) {
	out := Counts{}
	for _, ent := range cfg.EntityOrder() {
		out[ent] = map[string]int{}
		for _, sys := range cfg.SystemNames() {
			if maps[sys][ent] == nil {
				continue
			}
			n, after := 0, ""
			for {
				rows, next, err := systems[sys].Snapshot(ctx, ent, after, 5000)
				if err != nil {
					return nil, fmt.Errorf("count %s in %s: %w", ent, sys, err)
				}
				if len(rows) == 0 {
					break
				}
				n += len(rows)
				after = next
			}
			out[ent][sys] = n
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
