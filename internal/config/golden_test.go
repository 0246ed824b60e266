package config

import (
	"errors"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden checks what tandem check prints for a file with five
// different mistakes. Regenerate with go test ./internal/config -update.
func TestGolden(t *testing.T) {
	const (
		file   = "testdata/bad/five.yaml"
		golden = "testdata/bad/five.golden"
	)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	none := func(string) (string, bool) { return "", false }
	_, err = Read(file, data, none, os.ReadFile)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("read(%s) = %v, want Problems", file, err)
	}
	if len(ps) != 5 {
		t.Errorf("%d problems, want 5", len(ps))
	}
	got := ps.Error() + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/config -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("problems differ from %s (go test ./internal/config -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}
