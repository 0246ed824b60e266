package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// SQLite returns the path of a new, empty SQLite database file in the
// test's temporary directory.
func SQLite(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tandem_test.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Name returns a new database name: tandem_test_ and random hex.
func Name() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "tandem_test_" + hex.EncodeToString(b)
}

// unreachable skips the test, or fails it when CI is set, saying how to
// start the server.
func unreachable(t testing.TB, what, env, dsn, start string, err error) {
	t.Helper()
	msg := what + " at " + dsn + " is unreachable (" + err.Error() + "); start it with `" + start +
		"` or point " + env + " at a running server"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// ctx returns a context for administrative statements.
func ctx(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
