package e2e

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersion: `tandem version` says it is tandem and which Go built it,
// with no configuration around.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, err := runTandem(t.TempDir(), "version")
	if err != nil {
		t.Fatalf("tandem version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, "tandem ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("tandem version printed %q; want it to start with \"tandem \" and name %s", out, runtime.Version())
	}
}
