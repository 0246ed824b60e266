package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fiveMistakes is a tandem.yaml with five mistakes of different kinds,
// each on a line marked "# mistake: NAME".
const fiveMistakes = `version: 1
systems:
  catalogue:
    type: postgres
    dsn: postgres://tandem:${TANDEM_E2E_UNSET_SECRET}@localhost:5432/catalogue # mistake: secret
    poll: 200 # mistake: duration
  crm:
    type: sqlite3 # mistake: type
    dsn: ./crm.db
entities:
  account:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
      required: [name]
mappings:
  catalogue:
    account:
      table: customers
      key_generated: true
      fields:
        name: name
        email:
          column: email
          in: lower(email # mistake: expression
          out: email
  crm:
    account:
      table: companies
      fields: {name: company_name, email: email}
    acount: # mistake: entity
      table: companies_old
routes:
  - {entity: account, between: [catalogue, crm]}
`

// TestCheckReportsFiveMistakes: `tandem check` fails on a configuration
// with five mistakes and explains each one, with its file, line, YAML
// path and a hint, and nothing else; the tests' own configuration passes.
func TestCheckReportsFiveMistakes(t *testing.T) {
	t.Parallel()
	if _, set := os.LookupEnv("TANDEM_E2E_UNSET_SECRET"); set {
		t.Fatal("TANDEM_E2E_UNSET_SECRET must not be set for this test")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(cfg, []byte(fiveMistakes), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTandem(dir, "check", "-c", cfg)
	if err == nil {
		t.Fatalf("tandem check succeeded on a configuration with five mistakes:\n%s", out)
	}
	if !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("tandem check: %v; want exit status 1", err)
	}
	if !strings.Contains(out, "tandem: "+cfg+" has mistakes") {
		t.Errorf("tandem check does not say %q:\n%s", cfg+" has mistakes", out)
	}

	lines := strings.Split(fiveMistakes, "\n")
	lineOf := func(name string) int {
		for i, l := range lines {
			if strings.HasSuffix(l, "# mistake: "+name) {
				return i + 1
			}
		}
		t.Fatalf("no line marked %q", name)
		return 0
	}
	mistakes := []struct {
		name, path string
		says       []string // what the message and hint must say
	}{
		{"secret", "systems.catalogue.dsn", []string{"TANDEM_E2E_UNSET_SECRET is not set", "hint: export TANDEM_E2E_UNSET_SECRET"}},
		{"duration", "systems.catalogue.poll", []string{`"200" is not a duration`, "hint: ", "200ms"}},
		{"type", "systems.crm.type", []string{`"sqlite3" is not a connector type`, `hint: did you mean "sqlite"?`}},
		{"expression", "mappings.catalogue.account.fields.email.in", []string{"does not compile", "hint: "}},
		{"entity", "mappings.crm.acount", []string{`"acount" is not a declared entity`, `hint: did you mean "account"?`}},
	}
	var problems []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, cfg+":") {
			problems = append(problems, l)
		}
	}
	if len(problems) != len(mistakes) {
		t.Errorf("tandem check reported %d problems, want %d:\n%s", len(problems), len(mistakes), out)
	}
	for _, m := range mistakes {
		prefix := fmt.Sprintf("%s:%d:", cfg, lineOf(m.name))
		var found string
		for _, p := range problems {
			if strings.HasPrefix(p, prefix) && strings.Contains(p, " "+m.path+": ") {
				found = p
			}
		}
		if found == "" {
			t.Errorf("no problem at %s naming %s (the %s mistake) in:\n%s", prefix, m.path, m.name, out)
			continue
		}
		for _, s := range m.says {
			if !strings.Contains(found, s) {
				t.Errorf("the %s mistake is reported as\n  %s\nwhich does not say %q", m.name, found, s)
			}
		}
	}

	// The configuration the other tests run with is valid.
	good := filepath.Join(dir, "good.yaml")
	y := renderConfig("postgres://postgres@127.0.0.1:5432/x", "root@tcp(127.0.0.1:3306)/x", filepath.Join(dir, "crm.db"), configOptions{})
	if err := os.WriteFile(good, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runTandem(dir, "check", "-c", good)
	if err != nil || !strings.Contains(out, "is valid: 3 systems, 3 entities, 3 routes") {
		t.Errorf("tandem check of a valid configuration: %v\n%s", err, out)
	}
}
