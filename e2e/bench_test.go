package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// TestBenchWorkload: `tandem bench --workload pg-to-pg` copies a table
// and follows updates through `tandem run`, one way and two ways, ends
// only when the destination matches the source by checksum, and prints
// every figure it promises.
func TestBenchWorkload(t *testing.T) {
	server := testenv.PostgresServer(t)
	maria := testenv.MySQLServer(t)
	for _, ways := range [][]string{{"--workload", "pg-to-pg"}, {"--workload", "pg-to-pg", "--two-way"},
		{"--workload", "pg-to-pg-and-mariadb", "--mariadb", maria, "--rate", "4000"}} {
		args := append([]string{"bench", "--server", server,
			"--rows", "3000", "--updates", "2000", "--per-tx", "500", "--batch", "500"}, ways...)
		out, err := runTandemWithin(3*time.Minute, t.TempDir(), args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{ways[1], "3000 rows, then 2000 updates", "snapshot", "rows/s", "cdc", "changes/s",
			"µs CPU per change", "latency    p50", "max RSS", "without capture"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", ways, want, out)
			}
		}
		if len(ways) > 3 && !strings.Contains(out, "paced at 4000/s") {
			t.Errorf("%v: output does not say the UPDATEs were paced:\n%s", ways, out)
		}
		m := regexp.MustCompile(`max RSS\s+(\d+) MB`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no max RSS in:\n%s", out)
		}
		if mb, _ := strconv.Atoi(m[1]); mb <= 0 {
			t.Errorf("max RSS %d MB: the hub's memory was not measured", mb)
		}
	}
	if out, err := runTandem(t.TempDir(), "bench", "--workload", "pg-to-mongo", "--server", server); err == nil ||
		!strings.Contains(out, "pg-to-pg") {
		t.Errorf("an unknown workload: %v\n%s", err, out)
	}
}
