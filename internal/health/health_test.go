package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (c *clock) tick() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

func testBoard() (*Board, *clock) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b := NewBoard()
	b.now = c.now
	return b, c
}

// A failing part keeps when it began to fail and counts its attempts; it
// is ok again, since then, after one success.
func TestBoardKeepsWhenFailingBegan(t *testing.T) {
	b, c := testBoard()
	b.Report("crm", Capture, nil)
	began := c.tick()
	b.Report("crm", Capture, errors.New("storing changes: disk I/O error"))
	c.tick()
	b.Report("crm", Capture, errors.New("storing changes: database is locked"))
	got := b.File().Systems["crm"].Capture
	want := Condition{Since: began, Error: "storing changes: database is locked", Attempts: 2}
	if got == nil || *got != want {
		t.Fatalf("capture = %+v, want %+v", got, want)
	}
	if d := b.File().Systems["crm"].Delivery; d != nil {
		t.Errorf("delivery = %+v before any delivery reported", d)
	}
	back := c.tick()
	b.Report("crm", Capture, nil)
	c.tick()
	b.Report("crm", Capture, nil)
	if got := b.File().Systems["crm"].Capture; got == nil || *got != (Condition{OK: true, Since: back}) {
		t.Fatalf("capture after recovering = %+v, want ok since %v", got, back)
	}
}

// Delivery fails while any of its parts does, since the earliest of them
// began to fail: one part working does not hide another's failure.
func TestBoardDeliveryRollsUpItsParts(t *testing.T) {
	b, c := testBoard()
	b.Report("erp", DeliveryStore, nil)
	down := c.tick()
	b.Report("erp", Destination, errors.New("dial tcp: connection refused"))
	c.tick()
	b.Report("erp", DeliveryStore, errors.New("recording deliveries: disk full"))
	c.tick()
	b.Report("erp", DeliveryStore, nil) // the queue reads again, the destination is still down
	got := b.File().Systems["erp"].Delivery
	if got == nil || got.OK || !got.Since.Equal(down) || got.Error != "dial tcp: connection refused" {
		t.Fatalf("delivery = %+v; want failing since %v with the destination's error", got, down)
	}
	up := c.tick()
	b.Report("erp", Destination, nil)
	if got := b.File().Systems["erp"].Delivery; got == nil || !got.OK || !got.Since.Equal(up) {
		t.Fatalf("delivery = %+v; want ok since %v", got, up)
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read of a directory without a health file: %v, want ErrNotExist", err)
	}
	b, _ := testBoard()
	b.Report("crm", Capture, errors.New("boom"))
	want := b.File()
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != os.Getpid() || !got.Updated.Equal(want.Updated) || got.Systems["crm"].Capture.Error != "boom" {
		t.Fatalf("read back %+v, wrote %+v", got, want)
	}
	if fi, err := os.Stat(dir + "/" + FileName); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("health file: %v, %v; want mode 0600", fi, err)
	}
}

func TestAlive(t *testing.T) {
	now := time.Now()
	host, _ := os.Hostname()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     File
		alive bool
	}{
		{"fresh", File{PID: os.Getpid(), Host: host, Updated: now.Add(-time.Second)}, true},
		{"stale", File{PID: os.Getpid(), Host: host, Updated: now.Add(-StaleAfter - time.Second)}, false},
		{"stopped", File{PID: os.Getpid(), Host: host, Updated: now, Stopped: now}, false},
		{"process gone", File{PID: gone.Process.Pid, Host: host, Updated: now}, false},
		{"other host", File{PID: gone.Process.Pid, Host: host + "-elsewhere", Updated: now}, true},
	} {
		alive, why := c.f.Alive(now)
		if alive != c.alive || (!alive && why == "") {
			t.Errorf("%s: Alive = %v %q, want %v (and a reason when not)", c.name, alive, why, c.alive)
		}
	}
}

// Run writes the file at once when a part turns failing, not only on its
// interval, and says the hub stopped when it ends.
func TestRunWritesOnChange(t *testing.T) {
	dir := t.TempDir()
	b := NewBoard()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx, dir, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	waitFor(t, dir, "a first file", func(f *File) bool { return f.PID == os.Getpid() })
	b.Report("crm", Capture, errors.New("reading changes: connection refused"))
	waitFor(t, dir, "crm capture failing", func(f *File) bool {
		c := f.Systems["crm"].Capture
		return c != nil && !c.OK && c.Error == "reading changes: connection refused"
	})
	cancel()
	<-done
	f, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if alive, why := f.Alive(time.Now()); alive || f.Stopped.IsZero() {
		t.Errorf("after Run ended: stopped %v, alive %v (%s); want stopped and not alive", f.Stopped, alive, why)
	}
}

func waitFor(t *testing.T, dir, what string, ok func(*File) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := Read(dir)
		if err == nil && ok(f) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health file shows no %s within 10s: %+v, %v", what, f, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
