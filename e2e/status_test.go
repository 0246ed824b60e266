package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// statusReport is what `tandem status --json` prints.
type statusReport struct {
	Rows     []statusRow
	Held     []statusItem
	Waiting  []statusItem
	Problems []string
	Hub      struct {
		Running bool
		Why     string
		Systems map[string]struct{ Capture, Delivery *condition }
	}
}

type statusItem struct {
	System, Entity, Key, GID, Why string
	Since                         time.Time
}

type condition struct {
	OK       bool
	Since    time.Time
	Error    string
	Attempts int
}

// statusRun is how one `tandem status` ended.
type statusRun struct {
	code           int
	stdout, stderr string
}

// runStatus runs tandem (status) in dir and returns its output and exit
// code; err is set only when it could not run or was killed.
func runStatus(dir string, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tandemBin, args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return out.String(), errOut.String(), ee.ExitCode(), nil
	}
	return out.String(), errOut.String(), 0, err
}

// tandemStatus runs `tandem status` with args; exit codes 0 and 1 are
// answers, anything else an error.
func (e *env) tandemStatus(args ...string) (statusRun, error) {
	out, errOut, code, err := runStatus(e.dir, append(append([]string{"status"}, args...), "-c", e.cfg)...)
	r := statusRun{code: code, stdout: out, stderr: errOut}
	if err == nil && code > 1 {
		err = fmt.Errorf("exit %d", code)
	}
	if err != nil {
		return r, fmt.Errorf("tandem status %s: %w\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return r, nil
}

func (e *env) statusReport(args ...string) (*statusReport, statusRun, error) {
	r, err := e.tandemStatus(append([]string{"--json"}, args...)...)
	if err != nil {
		return nil, r, err
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		return nil, r, fmt.Errorf("tandem status --json: %w\n%s", err, r.stdout)
	}
	return &rep, r, nil
}

// A contact whose account never arrives is held: status counts it in
// its row, lists it with its key and why, and exits 1 saying so once it
// has waited longer than --stuck-after.
func TestStatusShowsHeldChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	e.startHub()
	ctx := context.Background()
	key, err := e.sys[crm].createContact(ctx, e.sys[crm].db, "Orphan", "Child", "orphan@e2e.example", "acc-never")
	if err != nil {
		t.Fatal(err)
	}
	var rep *statusReport
	e.eventually(30*time.Second, "status lists the held contact", func() error {
		var err error
		if rep, _, err = e.statusReport(); err != nil {
			return err
		}
		// The list and the counts are read apart: wait for both.
		var row *statusRow
		for i := range rep.Rows {
			if rep.Rows[i].System == crm && rep.Rows[i].Entity == "contact" {
				row = &rep.Rows[i]
			}
		}
		if row == nil || row.Held != 1 {
			return fmt.Errorf("crm contact row %+v; want 1 held", row)
		}
		for _, it := range rep.Held {
			if it.System == crm && it.Entity == "contact" && it.Key == key {
				return nil
			}
		}
		return fmt.Errorf("held: %+v", rep.Held)
	})
	it := rep.Held[0]
	if want := `waiting for account acc-never of crm (field "account")`; it.Why != want || it.Since.IsZero() {
		t.Errorf("held item %+v; want why %q and since when", it, want)
	}

	r, err := e.tandemStatus("--stuck-after", "0s")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tandem status --stuck-after 0s (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	if r.code != 1 {
		t.Errorf("tandem status with a held change exits %d, want 1", r.code)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "crm contact: 1 change held") {
		t.Errorf("stderr %q; want one line saying crm contact has 1 change held", r.stderr)
	}
	if !lineWith(r.stdout, crm+" ", " contact ", " "+key+" ", `waiting for account acc-never of crm (field "account")`) {
		t.Errorf("status does not list the held contact %s with why:\n%s", key, r.stdout)
	}
}

// A capture that fails on every read of its source (the network to the
// catalogue's PostgreSQL is cut) shows as FAILING with the error and
// since when, and status exits 1, until the network is back.
func TestStatusShowsFailingCapture(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	u, err := url.Parse(e.pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	e.pgDSN = u.String()
	e.writeConfig(configOptions{})
	e.startHub()
	e.eventually(30*time.Second, "status exits 0 before the cut", func() error { return e.statusCode(0) })

	proxy.Cut()
	var since time.Time
	e.eventually(30*time.Second, "status shows the catalogue's capture failing", func() error {
		rep, r, err := e.statusReport()
		if err != nil {
			return err
		}
		c := rep.Hub.Systems[catalogue].Capture
		if c == nil || c.OK {
			return fmt.Errorf("catalogue capture %+v", c)
		}
		if r.code != 1 {
			return fmt.Errorf("exit %d with the catalogue's capture failing, want 1", r.code)
		}
		if !strings.Contains(r.stderr, "catalogue capture failing since") {
			return fmt.Errorf("stderr %q does not say the catalogue's capture is failing", r.stderr)
		}
		since = c.Since
		return nil
	})
	r, err := e.tandemStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tandem status with the network cut (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	if !strings.Contains(r.stdout, "FAILING  catalogue capture since "+since.UTC().Format(time.RFC3339)) ||
		!strings.Contains(r.stdout, "reading changes") {
		t.Errorf("status does not show the catalogue's capture FAILING since %v while reading changes:\n%s", since, r.stdout)
	}
	if strings.Contains(r.stdout, "FAILING  crm") || strings.Contains(r.stdout, "FAILING  accounting") {
		t.Errorf("status shows systems that work as failing:\n%s", r.stdout)
	}

	proxy.Restore()
	e.eventually(60*time.Second, "status exits 0 once the network is back", func() error { return e.statusCode(0) })
}

// A hub that has synced everything and runs well exits 0; once it is
// stopped, status says the hub is not running and exits 1.
func TestStatusHealthyAndStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	h := e.startHub()
	ctx := context.Background()
	if _, err := e.sys[crm].createAccount(ctx, e.sys[crm].db, "Calm Company", "calm@e2e.example", "FR"); err != nil {
		t.Fatal(err)
	}
	e.waitAccount("calm@e2e.example", "Calm Company", catalogue, accounting)
	e.drain(30 * time.Second)
	e.eventually(30*time.Second, "status exits 0", func() error { return e.statusCode(0) })
	r, err := e.tandemStatus()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tandem status of a healthy hub (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	if !strings.Contains(r.stdout, "hub running: pid") || strings.Contains(r.stdout, "FAILING") {
		t.Errorf("status of a healthy hub:\n%s", r.stdout)
	}

	h.stop()
	r, err = e.tandemStatus()
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 1 || !strings.Contains(r.stdout, "hub not running (stopped ") || !strings.Contains(r.stderr, "hub not running") {
		t.Errorf("status of a stopped hub: exit %d, want 1 saying the hub is not running:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// statusCode returns nil if `tandem status` exits with code, and else
// why not.
func (e *env) statusCode(code int) error {
	r, err := e.tandemStatus()
	if err != nil {
		return err
	}
	if r.code != code {
		return fmt.Errorf("exit %d, want %d:\n%s%s", r.code, code, r.stdout, r.stderr)
	}
	return nil
}

// lineWith reports whether one line of out holds every part.
func lineWith(out string, parts ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}
