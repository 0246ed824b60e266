package config_test

// The secret rules hold inside the settings blocks connectors own: these
// tests load configurations with an http system, so they link every
// connector's section through the registry.

import (
	"slices"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config/configtest"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	_ "github.com/tandemhub/tandem/internal/connector/registry"
)

var (
	parse    = configtest.Parse
	lineOf   = configtest.LineOf
	baseYAML = configtest.Base
)

// apiYAML is baseYAML with an http system whose secrets are given in
// every way tandem reads them.
func apiYAML(auth string) string {
	src := strings.Replace(baseYAML, "  crm: {type: sqlite, dsn: crm.db}\n", `  crm: {type: sqlite, dsn: crm.db}
  api:
    type: http
    dsn: https://api.example.com/v1
    http:
      auth: `+auth+`
      headers: {X-Api-Key: "${CANARY}", Accept-Version: "2"}
      resources: {companies: {updated: updated_at}}
      webhook: {secret: "${file:hook.secret}"}
`, 1)
	src = strings.Replace(src, "routes:\n", "  api:\n    account: {table: companies, fields: {name: name}}\nroutes:\n", 1)
	src = strings.Replace(src, "routes:\n", "listen: 127.0.0.1:7070\nroutes:\n", 1)
	return strings.Replace(src, "between: [shop, crm]", "between: [shop, crm, api]", 1)
}

// Secrets come from the environment or from files; a file that cannot be
// read is a problem naming it, with the line and a hint.
func TestSecretFileInABlock(t *testing.T) {
	src := apiYAML(`{bearer: "${CANARY}"}`)
	c, problems := parse(t, src, map[string]string{"hook.secret": "whsec-1234\n"})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if got := httpapi.SettingsOf(c.Systems["api"]).Webhook.Secret; got != "whsec-1234" {
		t.Errorf("webhook secret read as %q", got)
	}
	if len(c.Warnings) > 0 {
		t.Errorf("warnings for secrets given as references: %v", c.Warnings)
	}
	_, problems = parse(t, src, nil)
	if len(problems) != 1 {
		t.Fatalf("problems: %v", problems)
	}
	p := problems[0]
	if p.Path != "systems.api.http.webhook.secret" || p.Line != lineOf(src, "      webhook:") ||
		p.Msg != "file hook.secret cannot be read: file does not exist" || !strings.Contains(p.Hint, "relative path") {
		t.Errorf("problem: %#v", p)
	}
}

// A secret written in the file is allowed, with a warning that names
// where it is and never what it is.
func TestLiteralSecretsWarn(t *testing.T) {
	cases := []struct {
		name, old, new string
		warn           []string // paths
	}{
		{"bearer", "", "", []string{"systems.api.http.auth.bearer"}},
		{"dsn password", `dsn: "postgres://localhost/shop"`, `dsn: "postgres://tandem:hunter2@localhost/shop"`,
			[]string{"systems.shop.dsn", "systems.api.http.auth.bearer"}},
		{"dsn password from env", `dsn: "postgres://localhost/shop"`, `dsn: "postgres://tandem:${SHOP_PASSWORD}@localhost/shop"`,
			[]string{"systems.api.http.auth.bearer"}},
		{"mysql dsn, empty password", `{type: postgres, dsn: "postgres://localhost/shop"}`, `{type: mysql, dsn: "root:@tcp(127.0.0.1:3306)/shop"}`,
			[]string{"systems.api.http.auth.bearer"}},
		{"header", `X-Api-Key: "${CANARY}"`, `X-Api-Key: hunter2`,
			[]string{"systems.api.http.auth.bearer", `systems.api.http.headers.X-Api-Key`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(apiYAML(`{bearer: hunter2}`), tc.old, tc.new, 1)
			c, problems := parse(t, src, map[string]string{"hook.secret": "whsec-1234"})
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			var paths []string
			for _, w := range c.Warnings {
				paths = append(paths, w.Path)
				if strings.Contains(w.Error(), "hunter2") || w.Line == 0 || !strings.Contains(w.Hint, "${ENV_VAR}") {
					t.Errorf("warning %s", w.Error())
				}
			}
			if !slices.Equal(paths, tc.warn) {
				t.Errorf("warnings at %q, want %q:\n%s", paths, tc.warn, c.Warnings.Error())
			}
		})
	}
}

// A value written where a secret or a block of them belongs is never
// quoted, not even when it is the wrong kind of value.
func TestSecretPositionsNotQuoted(t *testing.T) {
	for _, auth := range []string{`hunter2`, `{bearer: {x: hunter2}, basic: hunter2}`, `{header: hunter2}`, `{bearer: "hunter2${"}`, `{bearer: "${hunter-2}"}`} {
		_, problems := parse(t, apiYAML(auth), map[string]string{"hook.secret": "x"})
		if len(problems) == 0 {
			t.Errorf("auth %s: no problems", auth)
		}
		if s := problems.Error(); strings.Contains(s, "hunter") {
			t.Errorf("auth %s: problems show the value:\n%s", auth, s)
		}
	}
}

func TestSecretsOfBlocks(t *testing.T) {
	src := strings.Replace(apiYAML(`{basic: {user: ann, password: "${CANARY}"}}`),
		`dsn: "postgres://localhost/shop"`, `dsn: "postgres://tandem:${SHOP_PASSWORD}@localhost/shop"`, 1)
	c, problems := parse(t, src, map[string]string{"hook.secret": "whsec-1234"})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := []string{"canary-7f3a9", "s3cret", "whsec-1234"}
	if got := c.Secrets(); !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
	if got := c.Redactor().String("ann s3cret 2 whsec-1234"); got != "ann *** 2 ***" {
		t.Errorf("Redactor: %q", got)
	}
}
