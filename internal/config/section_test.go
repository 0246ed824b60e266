package config

import (
	"strings"
	"testing"
)

// tuning is a settings block a test section registers for postgres
// systems, the way a connector registers its own.
type tuning struct {
	Workers int      `yaml:"workers"`
	Wait    Duration `yaml:"wait"`
	Token   string   `yaml:"token" secret:"value"`
}

// registerTuning registers the tuning section for the test's length.
func registerTuning(t *testing.T, tuningChecks *int) {
	Register(Section{Key: "tuning", Types: []string{"postgres"}, New: func() any { return &tuning{} },
		Check: func(c *Check, block any) {
			*tuningChecks++
			t, _ := block.(*tuning)
			if t == nil {
				return
			}
			if t.Workers < 0 {
				c.Under("tuning").Add("is negative", "write how many workers, like 4", "workers")
			}
		}})
	t.Cleanup(func() {
		sectionsMu.Lock()
		delete(sections, "tuning")
		sectionsMu.Unlock()
	})
}

// A registered section's block is decoded strictly, with lines and
// secret rules, checked by its owner, and kept for it in Blocks.
func TestSection(t *testing.T) {
	tuningChecks := 0
	registerTuning(t, &tuningChecks)
	shop := `  shop: {type: postgres, dsn: "postgres://localhost/shop"}`
	cases := []struct {
		name, system string
		want         []want
	}{
		{"checked by its owner", `  shop: {type: postgres, dsn: "postgres://x/shop", tuning: {workers: -1}}`,
			[]want{{"systems.shop.tuning.workers", "is negative", "like 4", "tuning:"}}},
		{"unknown key inside", `  shop: {type: postgres, dsn: "postgres://x/shop", tuning: {workerz: 2}}`,
			[]want{{"systems.shop.tuning.workerz", "unknown key", `did you mean "workers"?`, "workerz"}}},
		{"misspelt block", `  shop: {type: postgres, dsn: "postgres://x/shop", tunning: {workers: 2}}`,
			[]want{{"systems.shop.tunning", "unknown key", `did you mean "tuning"?`, "tunning"}}},
		{"under another type", `  shop: {type: mysql, dsn: "root@tcp(x)/shop", tuning: {workers: 2}}`,
			[]want{{"systems.shop.tuning", "only for systems of type postgres, and this one is mysql", "type: postgres", "tuning:"}}},
		{"wrong kind", `  shop: {type: postgres, dsn: "postgres://x/shop", tuning: {wait: soon}}`,
			[]want{{"systems.shop.tuning.wait", "not a duration", "", "wait: soon"}}},
		{"secret never quoted", `  shop: {type: postgres, dsn: "postgres://x/shop", tuning: {token: [hunter2]}}`,
			[]want{{"systems.shop.tuning.token", "must be a single value", "", "token:"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(baseYAML, shop, tc.system, 1)
			_, got := parse(t, src, nil)
			if strings.Contains(got.Error(), "hunter2") {
				t.Errorf("problems quote a secret: %v", got)
			}
			expect(t, src, got, tc.want)
		})
	}

	before := tuningChecks
	src := strings.Replace(baseYAML, shop, `  shop: {type: postgres, dsn: "postgres://x/shop", tuning: {workers: 3, token: "${CANARY}"}}`, 1)
	c, probs := parse(t, src, nil)
	if probs != nil {
		t.Fatal(probs)
	}
	if tu, ok := c.Systems["shop"].Block("tuning").(*tuning); !ok || tu.Workers != 3 {
		t.Errorf("block kept as %#v", c.Systems["shop"].Block("tuning"))
	}
	if got := c.Secrets(); len(got) != 1 || got[0] != testEnv["CANARY"] {
		t.Errorf("Secrets() = %q: the block's secret is not among them", got)
	}
	if tuningChecks == before {
		t.Error("the section's check did not run")
	}
}
