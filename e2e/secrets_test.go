package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tandemhub/tandem/internal/testenv"
)

// canary is a test's secrets: every secret it gives tandem holds mark, so
// that any piece of one that shows up anywhere is found.
type canary struct {
	mark string
	dir  string
	env  []string
	seen []string // what tandem printed, logged and stored, by where
	outs []string
	done int // of outs, how many were checked
}

func newCanary(t *testing.T) *canary {
	c := &canary{mark: "cnry" + randHex(), dir: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(c.dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The PostgreSQL password holds an unescaped @ with the mark on both
	// sides: a DSN split at the wrong @ shows its tail.
	c.env = append(os.Environ(),
		"PG_PASSWORD="+c.mark+"-pg@"+c.mark+"-tail",
		"MY_PASSWORD="+c.mark+"-my",
		"API_KEY="+c.mark+"-key",
	)
	c.file(t, "secrets/api-token", c.mark+"-token\n")
	return c
}

func (c *canary) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tandem runs a command with the canary's environment and notes its output.
func (c *canary) tandem(cfg string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tandemBin, append(args, "-c", cfg)...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	c.note("stdout of tandem "+strings.Join(args, " "), out.String())
	c.note("stderr of tandem "+strings.Join(args, " "), errOut.String())
	return out.String(), errOut.String(), err
}

func (c *canary) note(where, text string) {
	c.seen = append(c.seen, where)
	c.outs = append(c.outs, text)
}

// check fails the test for every place a piece of a secret showed up:
// what was noted, and every file under the data directory dir.
func (c *canary) check(t *testing.T, dataDir string) {
	t.Helper()
	if dataDir != "" {
		err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			c.note("store file "+p, string(b))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := c.done; i < len(c.outs); i++ {
		if n := strings.Count(c.outs[i], c.mark); n > 0 {
			t.Errorf("%s shows a secret %d times:\n%s", c.seen[i], n, tail(c.outs[i], 40))
		}
	}
	c.done = len(c.outs)
}

// must fails the test unless text holds every one of want.
func must(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, tail(text, 40))
		}
	}
}

// echoAPI is a REST API that refuses what it is told to refuse with an
// answer quoting the credentials it was sent, as some do.
type echoAPI struct {
	srv       *httptest.Server
	refuseGet atomic.Bool
	writes    atomic.Int64
}

func startEchoAPI(t *testing.T) *echoAPI {
	a := &echoAPI{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && !a.refuseGet.Load() {
			_, _ = w.Write([]byte("[]"))
			return
		}
		if r.Method != http.MethodGet {
			a.writes.Add(1)
		}
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf(
			"credentials refused: Authorization %q, X-Api-Key %q", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// TestSecretsNeverShow gives tandem secrets through the environment and
// files, including a PostgreSQL password holding an @ and an API key
// written in the file, provokes every error around them (a secret under
// a key that is no secret's, a wrong MySQL password, an unreachable
// host, an API that quotes the credentials it refuses) and counts the
// secrets' pieces in everything tandem prints, logs and stores: none.
// The errors still name the system, the host and the key.
func TestSecretsNeverShow(t *testing.T) {
	c := newCanary(t)
	pg := testenv.Postgres(t)
	pu, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := pu.User.Password(); has {
		t.Skip("TANDEM_TEST_POSTGRES has a password; this test needs a server that trusts loopback connections")
	}
	user := pu.User.Username()
	pgAt := func(host string) string {
		return fmt.Sprintf("postgres://%s:${PG_PASSWORD}@%s%s?sslmode=disable", user, host, pu.Path)
	}
	db := openDB(t, "pgx", pg)
	if _, err := db.Exec(`CREATE TABLE contacts (id bigserial PRIMARY KEY, name text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	api := startEchoAPI(t)

	t.Run("secret under the wrong key", func(t *testing.T) {
		cfg := c.file(t, "wrong-key.yaml", fmt.Sprintf(`version: 1
systems:
  pg: {type: postgres, dsn: %q, poll: "${API_KEY}"}
  crm: {type: sqlite, dsn: ./crm.db, batch: "${file:secrets/api-token}"}
entities:
  contact: {schema: {type: object, properties: {name: {type: string}}}}
mappings:
  pg: {contact: {table: contacts, key_generated: true, fields: {name: name}}}
  crm: {contact: {table: contacts, fields: {name: name}}}
routes:
  - {entity: contact, between: [pg, crm]}
`, pgAt(pu.Host)))
		out, _, err := c.tandem(cfg, "check")
		if err == nil {
			t.Fatalf("tandem check passed a secret as poll:\n%s", out)
		}
		must(t, "tandem check", out, "wrong-key.yaml:3:", "systems.pg.poll: the value of ${API_KEY} is not a duration",
			"systems.crm.batch: the value of ${file:secrets/api-token} is not a whole number")
		_, stderr, err := c.tandem(cfg, "run")
		if err == nil {
			t.Fatal("tandem run started with a secret as poll")
		}
		must(t, "tandem run", stderr, "systems.pg.poll: the value of ${API_KEY}")
		c.check(t, "")
	})

	t.Run("wrong MySQL password and unreachable PostgreSQL", func(t *testing.T) {
		my, err := mysql.ParseDSN(testenv.MySQL(t))
		if err != nil {
			t.Fatal(err)
		}
		refused := func(name, system, dsn string) string {
			return c.file(t, name+".yaml", fmt.Sprintf(`version: 1
store: {dir: ./%s-data}
systems:
  %s: %s
  crm: {type: sqlite, dsn: ./crm.db}
entities:
  contact: {schema: {type: object, properties: {name: {type: string}}}}
mappings:
  %[2]s: {contact: {table: contacts, key_generated: true, fields: {name: name}}}
  crm: {contact: {table: contacts, fields: {name: name}}}
routes:
  - {entity: contact, between: [%[2]s, crm]}
`, name, system, dsn))
		}
		crm := openDB(t, "sqlite", filepath.Join(c.dir, "crm.db"))
		if _, err := crm.Exec(`CREATE TABLE contacts (id TEXT PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, cfg string
			says      []string
		}{
			{"refused", refused("refused", "books", fmt.Sprintf(`{type: mysql, dsn: "%s:${MY_PASSWORD}@tcp(%s)/%s"}`, my.User, my.Addr, my.DBName)),
				[]string{`mysql system "books" at ` + my.Addr, "Access denied"}},
			{"far", refused("far", "far", fmt.Sprintf(`{type: postgres, dsn: %q}`, pgAt("127.0.0.1:1"))),
				[]string{`postgres system "far" at 127.0.0.1:1/`, "unreachable", "connection refused"}},
		} {
			out, _, err := c.tandem(tc.cfg, "check")
			if err != nil {
				t.Fatalf("tandem check: %v\n%s", err, out)
			}
			_, stderr, err := c.tandem(tc.cfg, "setup")
			if err == nil {
				t.Fatalf("tandem setup succeeded with %s", tc.name)
			}
			must(t, "tandem setup", stderr, tc.says...)
			_, stderr, err = c.tandem(tc.cfg, "run")
			if err == nil {
				t.Fatalf("tandem run started with %s", tc.name)
			}
			must(t, "tandem run", stderr, tc.says...)
			c.check(t, filepath.Join(c.dir, tc.name+"-data"))
		}
	})

	t.Run("an API that quotes the credentials it refuses", func(t *testing.T) {
		cfg := c.file(t, "tandem.yaml", fmt.Sprintf(`version: 1
store: {dir: ./data}
delivery: {attempts: 2, backoff: 50ms, max_backoff: 100ms}
systems:
  pg: {type: postgres, dsn: %q, poll: 50ms}
  api:
    type: http
    dsn: %q
    poll: 100ms
    http:
      auth: {bearer: "${file:secrets/api-token}"}
      headers: {X-Api-Key: "${API_KEY}", X-Session-Key: %s-literal}
      retries: 1
      timeout: 2s
      max_wait: 2s
      resources: {contacts: {updated: updated_at}}
entities:
  contact: {schema: {type: object, properties: {name: {type: string}}}}
mappings:
  pg: {contact: {table: contacts, key_generated: true, fields: {name: name}}}
  api: {contact: {table: contacts, key_generated: true, fields: {name: name}}}
routes:
  - {entity: contact, between: [pg, api]}
`, pgAt(pu.Host), api.srv.URL, c.mark))
		out, _, err := c.tandem(cfg, "check")
		if err != nil {
			t.Fatalf("tandem check: %v\n%s", err, out)
		}
		must(t, "tandem check", out, "is valid", "warning: ", "systems.api.http.headers.X-Session-Key: the secret is written in the file", "${ENV_VAR}")
		if _, stderr, err := c.tandem(cfg, "setup"); err != nil {
			t.Fatalf("tandem setup: %v\n%s", err, stderr)
		}

		hub := exec.Command(tandemBin, "run", "-c", cfg)
		hub.Dir, hub.Env = c.dir, c.env
		log := &syncBuffer{}
		hub.Stdout, hub.Stderr = log, log
		if err := hub.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- hub.Wait() }()
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			_ = hub.Process.Signal(syscall.SIGTERM)
			var err error
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				_ = hub.Process.Kill()
				err = <-done
			}
			if err != nil {
				t.Logf("tandem run: %v", err)
			}
		}
		t.Cleanup(stop)
		eventually(t, time.Minute, "tandem run is ready", func() error {
			if !strings.Contains(log.String(), "initial snapshots done") {
				return errors.New("not yet:\n" + tail(log.String(), 20))
			}
			return nil
		})
		if _, err := db.Exec(`INSERT INTO contacts (name) VALUES ('Ann'), ('Bob')`); err != nil {
			t.Fatal(err)
		}
		var dead []deadLetter
		eventually(t, time.Minute, "the API's refusals are dead-lettered", func() error {
			out, stderr, err := c.tandem(cfg, "dlq", "list", "--json")
			if err != nil {
				return fmt.Errorf("%w: %s", err, stderr)
			}
			dead = nil
			if err := json.Unmarshal([]byte(out), &dead); err != nil {
				return err
			}
			if len(dead) < 2 {
				return fmt.Errorf("%d dead letters; the API had %d writes", len(dead), api.writes.Load())
			}
			return nil
		})
		for _, d := range dead {
			must(t, "dead letter", d.System+" "+d.Error, "api", "401", "credentials refused", "Authorization")
		}
		// Capture fails too, and says so in the log and the status.
		api.refuseGet.Store(true)
		eventually(t, time.Minute, "the hub reports the refused capture", func() error {
			out, _, _ := c.tandem(cfg, "status")
			if !strings.Contains(out, "401") {
				return errors.New("no 401 in tandem status yet")
			}
			return nil
		})
		// What these print is read for secrets by c.check. status exits 1:
		// there are dead letters and a failing capture.
		var ee *exec.ExitError
		if _, stderr, err := c.tandem(cfg, "status", "--json"); !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("tandem status --json: %v, want exit status 1: %s", err, stderr)
		}
		if _, stderr, err := c.tandem(cfg, "dlq", "list"); err != nil {
			t.Errorf("tandem dlq list: %v: %s", err, stderr)
		}
		stop()
		c.note("the log of tandem run", log.String())
		must(t, "the log of tandem run", log.String(), "401", "X-Session-Key")
		c.check(t, filepath.Join(c.dir, "data"))
	})
	c.check(t, "")
}
