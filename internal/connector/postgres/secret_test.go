package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
)

func TestEscapeAt(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"postgres://u:p@ss@host:5432/db", "postgres://u:p%40ss@host:5432/db"},
		{"postgres://u:a@b@c@host/db?sslmode=disable", "postgres://u:a%40b%40c@host/db?sslmode=disable"},
		{"postgres://u:pw@host/db", "postgres://u:pw@host/db"},
		{"postgres://u:pw@host/db?application_name=a@b", "postgres://u:pw@host/db?application_name=a@b"},
		{"postgres://u:pw@host/db@x", "postgres://u:pw@host/db@x"}, // the @ may be the path's
		{"host=h user=u password=p@ss", "host=h user=u password=p@ss"},
	} {
		if got := escapeAt(tc.in); got != tc.out {
			t.Errorf("escapeAt(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

// A password holding an unescaped @ is read whole: the error of a server
// that cannot be reached names the host, not the password's tail.
func TestPasswordWithAtNotShown(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:hunter2@tail-of-it@127.0.0.1:1/db?connect_timeout=5",
		"postgres://u:hunter2 tail-of-it@127.0.0.1:1/db",   // the driver cannot parse it
		"postgres://u:hunter2%zztail-of-it@127.0.0.1:1/db", // nor this
		"host=127.0.0.1 port=x user=u password=tail-of-it", // nor this
	} {
		_, err := New(context.Background(), "far", &config.System{DSN: dsn}, nil, nil)
		if err == nil {
			t.Fatalf("New(%q) connected", dsn)
		}
		if msg := err.Error(); strings.Contains(msg, "tail-of-it") || !strings.Contains(msg, `postgres system "far"`) {
			t.Errorf("New(%q): %v", dsn, err)
		}
	}
	_, err := New(context.Background(), "far", &config.System{DSN: "postgres://u:hunter2@tail-of-it@127.0.0.1:1/db"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1/db") {
		t.Errorf("the error does not name the host: %v", err)
	}
}
