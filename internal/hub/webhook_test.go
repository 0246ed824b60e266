package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/webhook"
)

const webhookYAML = `version: 1
store: {dir: STORE}
listen: LISTEN
systems:
  a: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
  b: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
entities:
  contact:
    schema:
      type: object
      properties:
        name: {type: string}
mappings:
  a:
    contact: {table: contacts, fields: {name: name}}
  b:
    contact: {table: contacts, fields: {name: name}}
routes:
  - {entity: contact, between: [a, b]}
`

// pushing is a memory system that accepts notifications at /webhooks/a.
type pushing struct {
	*memory.System
	hook http.Handler
}

func (p pushing) Webhook() http.Handler { return p.hook }

// lockedBuffer collects the hub's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// webhookRig is a running hub whose system a takes notifications
// {"ids": [...]}, signed like the CRM simulator signs them.
type webhookRig struct {
	t        *testing.T
	addr     string
	url      string
	scheme   webhook.Scheme
	parsed   atomic.Int64 // bodies that reached system a
	notified atomic.Int64 // records named to system a
	log      lockedBuffer // warnings and errors
}

func newWebhookRig(t *testing.T, limits hub.WebhookLimits) *webhookRig {
	t.Helper()
	hub.SetWebhookLimits(t, limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &webhookRig{t: t, addr: ln.Addr().String(),
		scheme: webhook.Scheme{Secret: []byte("k"), Header: "X-Sig", Prefix: "sha256=", Timestamp: "X-Ts"}}
	ln.Close()
	r.url = "http://" + r.addr + "/webhooks/a"
	dir := t.TempDir()
	path := filepath.Join(dir, "tandem.yaml")
	y := strings.NewReplacer("STORE", filepath.Join(dir, "data"), "LISTEN", r.addr).Replace(webhookYAML)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	model, err := hub.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	close(done)
	hook := &webhook.Handler{System: "a", Scheme: r.scheme,
		Parse: func(body []byte) ([]webhook.Notice, error) {
			r.parsed.Add(1)
			var n struct{ IDs []string }
			if err := json.Unmarshal(body, &n); err != nil {
				return nil, err
			}
			var out []webhook.Notice
			for _, id := range n.IDs {
				out = append(out, webhook.Notice{Table: "contacts", ID: id})
			}
			return out, nil
		},
		Notify: func(string, string) <-chan struct{} { r.notified.Add(1); return done }}
	systems := map[string]registry.System{
		"a": pushing{memory.New("a", model.Tables("a")), hook},
		"b": memory.New("b", model.Tables("b")),
	}
	log := slog.New(slog.NewTextHandler(&r.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := hub.Open(context.Background(), cfg, log, hub.Options{Systems: systems})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ran:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("hub: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the hub did not stop within 30s of shutdown")
			return
		}
		_ = h.Close(context.Background())
	})
	select {
	case <-h.Ready(): // it listens before the snapshots start
	case err := <-ran:
		t.Fatalf("hub: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the hub was not ready within 30s")
	}
	return r
}

// request is a signed notification of body.
func (r *webhookRig) request(body io.Reader, signed []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, r.url, body)
	if err != nil {
		r.t.Fatal(err)
	}
	r.scheme.Sign(req, signed)
	return req
}

// post sends a signed notification of body and returns the status.
func (r *webhookRig) post(c *http.Client, body []byte) (int, error) {
	resp, err := c.Do(r.request(bytes.NewReader(body), body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// openFiles counts this process's open files.
func openFiles(t *testing.T) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(fds)
}

// budgetOpenFiles sets this process's soft limit on open files to what
// it has open now, plus want client sockets, plus spare: raised towards
// the hard limit if need be, lowered if the hard limit is far above. Both
// the clients and the hub are in this process, so a server that accepted
// every client (two files each) would run out here as it would in
// production. It returns how many clients fit, want unless the hard
// limit is too low.
func budgetOpenFiles(t *testing.T, want, spare int) int {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	base := uint64(openFiles(t) + spare)
	n := uint64(want)
	if base+n > old.Max {
		if old.Max < base+1000 {
			t.Skipf("the hard limit on open files, %d, leaves no room for clients", old.Max)
		}
		n = old.Max - base
		t.Logf("the hard limit on open files is %d: %d clients, not %d", old.Max, n, want)
	}
	lim := syscall.Rlimit{Cur: base + n, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	return int(n)
}

// Ten thousand clients that connect and then send nothing, half their
// headers, or half their body, and hold on, neither use up the hub's
// open files nor keep a signed notification out for long: connections
// beyond the cap wait to be accepted, and the timeouts drop the slow
// ones to make room.
func TestSlowClientsDoNotShutOutNotifications(t *testing.T) {
	limits := hub.DefaultWebhookLimits()
	limits.Header, limits.Read, limits.Write, limits.Idle = 200*time.Millisecond, 400*time.Millisecond, 2*time.Second, time.Second
	n := budgetOpenFiles(t, 10_000, limits.Conns+512)
	r := newWebhookRig(t, limits)

	partial := []string{
		"",
		"POST /webhooks/a HTTP/1.1\r\nHost: hub\r\nX-Sig: sha256=",
		"POST /webhooks/a HTTP/1.1\r\nHost: hub\r\nContent-Length: 1000\r\n\r\n{\"ids\":[",
	}
	var (
		mu              sync.Mutex
		held            []net.Conn
		emfile, refused atomic.Int64
		wg              sync.WaitGroup
	)
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	next := make(chan int)
	d := net.Dialer{Timeout: 5 * time.Second}
	for range 64 {
		wg.Go(func() {
			for i := range next {
				c, err := d.Dial("tcp", r.addr)
				if err != nil {
					if errors.Is(err, syscall.EMFILE) {
						emfile.Add(1)
					}
					refused.Add(1)
					continue
				}
				if s := partial[i%len(partial)]; s != "" {
					_, _ = io.WriteString(c, s) // the server may have dropped it already
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d slow clients connected in %s; %d found the accept queue full for 5s", len(held), time.Since(start).Round(time.Millisecond), refused.Load())
	if emfile.Load() > 0 {
		t.Fatalf("%d clients could not connect: this process ran out of open files", emfile.Load())
	}
	if len(held) < n/2 {
		t.Fatalf("only %d of %d slow clients connected", len(held), n)
	}

	// While they hold on, a well-behaved sender gets through.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	body := []byte(`{"ids":["1"]}`)
	start = time.Now()
	var lastErr error
	for attempt := 1; ; attempt++ {
		st, err := r.post(c, body)
		if err == nil && st == http.StatusOK {
			t.Logf("notification served in %s, attempt %d", time.Since(start).Round(time.Millisecond), attempt)
			break
		}
		if err == nil {
			err = fmt.Errorf("status %d", st)
		}
		lastErr = err
		if time.Since(start) > 20*time.Second {
			t.Fatalf("a signed notification was not served within 20s of %d slow clients: %v", len(held), lastErr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.notified.Load(); got != 1 {
		t.Errorf("%d records notified, want 1", got)
	}

	// The first slow clients were dropped by the server, not kept.
	for i, sc := range held[:100] {
		_ = sc.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, sc)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatalf("slow client %d is still connected: %v", i, err)
		}
	}
	if log := r.log.String(); strings.Contains(log, "too many open files") {
		t.Errorf("the hub ran out of open files:\n%.2000s", log)
	}
}

// A body over the limit is answered 413 and reaches no system, whether
// its length was announced or not; one of exactly the limit gets in.
func TestOversizedNotificationIsRefused(t *testing.T) {
	limits := hub.DefaultWebhookLimits()
	r := newWebhookRig(t, limits)
	sized := func(size int64) []byte {
		b := []byte(`{"ids":["1"],"pad":"`)
		b = append(b, bytes.Repeat([]byte("x"), int(size)-len(b)-2)...)
		return append(b, `"}`...)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	for _, announced := range []bool{true, false} {
		body := sized(limits.Body + 1)
		var rd io.Reader = bytes.NewReader(body)
		if !announced {
			rd = io.MultiReader(rd) // sent chunked
		}
		req := r.request(rd, body)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("announced %v: %v", announced, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("announced %v: status %d, want 413", announced, resp.StatusCode)
		}
	}
	if p, n := r.parsed.Load(), r.notified.Load(); p != 0 || n != 0 {
		t.Fatalf("an oversized notification reached the system: %d parsed, %d notified", p, n)
	}
	if st, err := r.post(c, sized(limits.Body)); err != nil || st != http.StatusOK {
		t.Fatalf("a body of exactly the limit: status %d, %v", st, err)
	}
}

// A kept-alive connection with no next request is closed after the idle
// timeout.
func TestIdleWebhookConnectionIsClosed(t *testing.T) {
	limits := hub.DefaultWebhookLimits()
	limits.Idle = 300 * time.Millisecond
	r := newWebhookRig(t, limits)
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := []byte(`{"ids":["1"]}`)
	req := r.request(bytes.NewReader(body), body)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("status %d, close %v: want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	idle := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = br.ReadByte()
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Fatalf("an idle connection was still open after 5s (idle timeout %s)", limits.Idle)
	}
	if err == nil {
		t.Fatal("the server sent bytes nobody asked for")
	}
	if waited := time.Since(idle); waited < limits.Idle/2 {
		t.Errorf("closed after %s idle, before the idle timeout %s", waited, limits.Idle)
	}
}
