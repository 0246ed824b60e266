package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loopConfig maps a name through an in expression that appends "?" and
// writes it back unchanged (it would grow by a "?" on every trip), a
// score through out and in that do not undo each other (it would grow
// without end), and a price through cents exactly.
const loopConfig = `version: 1
store: {dir: ./store}
systems:
  a: {type: sqlite, dsn: %[1]q}
  b: {type: sqlite, dsn: %[1]q}
entities:
  account:
    schema:
      type: object
      properties:
        name: {type: string}
        score: {type: integer}
        price: {type: number}
        rate: {type: number}
mappings:
  a:
    account:
      table: accounts
      fields:
        name:
          column: name
          in: name + "?"
          out: name
        score:
          column: score
          out: score * 3
          in: score / 2
        price:
          column: cents
          out: int(round(price * 100))
          in: cents / 100.0
        rate:
          column: rate
          out: int(rate)
          in: rate
  b:
    account: {table: accounts, fields: {name: name, score: score, price: price, rate: rate}}
routes:
  - {entity: account, between: [a, b]}
`

// tandem check flags mappings whose values change on every trip between
// the systems (they would loop for ever), naming field and line, and
// warns of one that changes a value once; an exact pair passes.
func TestCheckFlagsMappingsThatDoNotRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(loopConfig, filepath.Join(dir, "unused.db"))), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runTandem(dir, "check", "-c", cfg)
	if err == nil {
		t.Fatalf("tandem check passed mappings that loop:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	lineOf := func(field string) string { // the line of field's key in mapping a
		i := strings.Index(loopConfig, "        "+field+":\n          column:")
		return fmt.Sprintf("tandem.yaml:%d:", strings.Count(loopConfig[:i], "\n")+1)
	}
	want := map[string]string{
		"mappings.a.account.fields.name":  lineOf("name"),
		"mappings.a.account.fields.score": lineOf("score"),
	}
	for path, at := range want {
		found := false
		for _, l := range lines {
			if strings.Contains(l, path+":") {
				found = true
				if !strings.Contains(l, at) || !strings.Contains(l, "for ever") || !strings.Contains(l, "hint:") {
					t.Errorf("the line about %s does not give %s, say it loops and give a hint:\n%s", path, at, l)
				}
			}
		}
		if !found {
			t.Errorf("tandem check does not name %s:\n%s", path, out)
		}
	}
	if strings.Contains(out, "fields.price") {
		t.Errorf("tandem check flags price, whose out and in undo each other:\n%s", out)
	}
	// tandem run refuses the same mistakes at start.
	out, err = runTandemWithin(30*time.Second, dir, "run", "-c", cfg)
	if err == nil || !strings.Contains(out, "mappings.a.account.fields.name") || !strings.Contains(out, "for ever") {
		t.Errorf("tandem run with mappings that loop: %v; want it refused, naming the field:\n%s", err, tail(out, 20))
	}

	// Without the two loops, the lossy rate is a warning and check passes.
	fixed := strings.Replace(strings.Replace(fmt.Sprintf(loopConfig, filepath.Join(dir, "unused.db")),
		`in: name + "?"`, `in: name`, 1), "in: score / 2", "in: score / 3", 1)
	if err := os.WriteFile(cfg, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runTandem(dir, "check", "-c", cfg)
	if err != nil {
		t.Fatalf("tandem check: %v\n%s", err, out)
	}
	if !strings.Contains(out, "warning:") || !strings.Contains(out, "mappings.a.account.fields.rate") || strings.Contains(out, "fields.score") {
		t.Errorf("tandem check does not warn of rate (and only of rate):\n%s", out)
	}
}
