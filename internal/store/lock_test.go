package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second hub on a data directory is refused at once, with the first
// one's pid, host, start and command line; once the first lets go, the
// directory can be taken again.
func TestSecondHubOnOneDirectoryIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := OpenExclusive(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	second, err := OpenExclusive(ctx, dir)
	if err == nil {
		second.Close()
		t.Fatal("a second hub opened the data directory the first holds")
	}
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("want ErrInUse, have %v", err)
	}
	var iu *InUseError
	if !errors.As(err, &iu) || iu.Holder == nil {
		t.Fatalf("want the holder named, have %v", err)
	}
	host, _ := os.Hostname()
	if iu.Holder.PID != os.Getpid() || iu.Holder.Host != host || iu.Holder.Command != commandLine(os.Args) ||
		time.Since(iu.Holder.Since) > time.Minute {
		t.Errorf("holder %+v, want pid %d on %s: %s", iu.Holder, os.Getpid(), host, commandLine(os.Args))
	}
	for _, part := range []string{"data directory " + dir + " is in use by another tandem",
		fmt.Sprintf("(pid %d on host %s, running since ", os.Getpid(), host), "stop it first or point store.dir elsewhere"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q lacks %q", err, part)
		}
	}

	// Commands that only read, or mark dead letters, open it beside the hub.
	reader, err := OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatalf("a reader next to the hub: %v", err)
	}
	if err := reader.View(ctx, func(tx Tx) error { _, err := tx.Counts(); return err }); err != nil {
		t.Fatal(err)
	}
	reader.Close()

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenExclusive(ctx, dir)
	if err != nil {
		t.Fatalf("after the first hub closed: %v", err)
	}
	again.Close()
}

// A hub killed with SIGKILL leaves no lock behind. The hub is this test
// binary run again as a child that takes the lock and waits.
func TestKilledHolderLeavesNoLock(t *testing.T) {
	if dir := os.Getenv("TANDEM_TEST_LOCK_HOLDER"); dir != "" {
		l, err := LockDir(dir)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin) // until killed
		l.Close()
		os.Exit(0)
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestKilledHolderLeavesNoLock$")
	child.Env = append(os.Environ(), "TANDEM_TEST_LOCK_HOLDER="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := child.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("the holder said %q (%v)", line, err)
	}

	_, err = LockDir(dir)
	var iu *InUseError
	if !errors.As(err, &iu) || iu.Holder == nil || iu.Holder.PID != child.Process.Pid {
		t.Fatalf("while the child holds the lock: want it named (pid %d), have %v", child.Process.Pid, err)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Close()
}

// The lock file and the directory tandem creates are the user's alone.
func TestLockIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, LockFileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}
