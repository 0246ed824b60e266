package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo: `tandem demo` needs nothing installed, edits three systems at
// once and exits 0 saying they agree, with the same number of records of
// each entity in every system.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runTandemWithin(90*time.Second, dir, "demo", "--duration", "5s", "--dir", dir)
	if err != nil {
		t.Fatalf("tandem demo: %v\n%s", err, out)
	}
	for _, s := range []string{"initial sync done", "edits stopped; waiting for tandem to drain",
		"AGREE: the three databases hold the same records, field by field", "and so does crmsim"} {
		if !strings.Contains(out, s) {
			t.Errorf("tandem demo output does not say %q:\n%s", s, out)
		}
	}
	// account (accounting 93, catalogue 93, crm 93); contact (...); product (...)
	counts := regexp.MustCompile(`(account|contact|product) \(accounting (\d+), catalogue (\d+), crm (\d+)\)`).FindAllStringSubmatch(out, -1)
	if len(counts) != 3 {
		t.Fatalf("tandem demo does not give counts of the three entities:\n%s", out)
	}
	for _, c := range counts {
		if c[2] != c[3] || c[3] != c[4] {
			t.Errorf("demo %s counts differ between systems: %s", c[1], c[0])
		}
		if c[1] != "product" && c[2] == "0" {
			t.Errorf("demo ended with no %s records: %s", c[1], c[0])
		}
	}
	edits := regexp.MustCompile(`edits\s+(\d+)`).FindAllStringSubmatch(out, -1)
	if len(edits) == 0 || edits[len(edits)-1][1] == "0" {
		t.Errorf("the demo made no edits:\n%s", out)
	}
	for _, f := range []string{"tandem.yaml", "catalogue.db", "crm.db", "accounting.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("tandem demo --dir %s: %v", dir, err)
		}
	}
}
