package config

import (
	"slices"
	"strings"
	"testing"
)

// No problem shows a value a ${…} reference gave, wherever it was put:
// it is named by the reference instead.
func TestProblemsHideExpandedValues(t *testing.T) {
	cases := []struct {
		name      string
		old, new  string
		path, msg string
	}{
		{"secret under poll", `dsn: "postgres://localhost/shop"}`, `dsn: "postgres://localhost/shop", poll: "${CANARY}"}`,
			"systems.shop.poll", "the value of ${CANARY} is not a duration"},
		{"secret under batch", `dsn: "postgres://localhost/shop"}`, `dsn: "postgres://localhost/shop", batch: "${CANARY}"}`,
			"systems.shop.batch", "the value of ${CANARY} is not a whole number"},
		{"secret under snapshot", `dsn: "postgres://localhost/shop"}`, `dsn: "postgres://localhost/shop", snapshot: "${CANARY}"}`,
			"systems.shop.snapshot", "the value of ${CANARY} is not true or false"},
		{"secret in part of a value", `dsn: "postgres://localhost/shop"}`, `dsn: "postgres://localhost/shop", poll: "1${CANARY}"}`,
			"systems.shop.poll", `the value of "1${CANARY}" is not a duration`},
		{"secret under type", "type: postgres", `type: "${CANARY}"`,
			"systems.shop.type", "the value of ${CANARY} is not a connector type"},
		{"number from the environment", `dsn: "postgres://localhost/shop"}`, `dsn: "postgres://localhost/shop", batch: "${BIG}"}`,
			"systems.shop.batch", "the value of ${BIG} is more than 10000"},
		{"secret as a table", "{table: accounts,", "{table: \"${CANARY}\",", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(baseYAML, tc.old, tc.new, 1)
			if src == baseYAML {
				t.Fatalf("edit %q not applied", tc.old)
			}
			c, problems := parse(t, src, nil)
			all := problems.Error()
			if strings.Contains(all, testEnv["CANARY"]) || strings.Contains(all, testEnv["BIG"]) {
				t.Errorf("problems show the value:\n%s", all)
			}
			if tc.path == "" {
				if len(problems) > 0 {
					t.Errorf("problems: %v", problems)
				}
				return
			}
			if c != nil || !slices.ContainsFunc(problems, func(p Problem) bool { return p.Path == tc.path && p.Msg == tc.msg }) {
				t.Errorf("no problem %s: %s in\n%s", tc.path, tc.msg, all)
			}
		})
	}
}
