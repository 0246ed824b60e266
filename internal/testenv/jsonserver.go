package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// JSONServer finds the json-server 0.17.4 binary: TANDEM_JSON_SERVER,
// the directory .ci/run installs it into (TANDEM_NPM_DIR, default
// ~/.cache/tandem-npm), or PATH. Without it the test fails in CI and is
// skipped elsewhere, saying how to install it.
func JSONServer(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TANDEM_JSON_SERVER"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	dir := os.Getenv("TANDEM_NPM_DIR")
	if dir == "" {
		dir = filepath.Join(home, ".cache", "tandem-npm")
	}
	if p := filepath.Join(dir, "node_modules", ".bin", "json-server"); isFile(p) {
		return p
	}
	if p, err := exec.LookPath("json-server"); err == nil {
		return p
	}
	msg := "json-server is not installed; run `npm install --prefix ~/.cache/tandem-npm json-server@0.17.4` " +
		"(.ci/run does) or point TANDEM_JSON_SERVER at its binary"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
