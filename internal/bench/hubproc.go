package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hubProc is `tandem run --setup` as a child process, measured from outside.
type hubProc struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan struct{}
	err     error // once done is closed
}

func startHub(bin, cfg, logPath string, args ...string) (*hubProc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"run", "--setup", "-c", cfg}, args...)...) //nolint:noctx // stop and kill end it; its exit status is a finding
	cmd.Stdout, cmd.Stderr = f, f
	h := &hubProc{cmd: cmd, log: logPath, done: make(chan struct{})}
	h.started = time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		h.err = cmd.Wait()
		f.Close()
		close(h.done)
	}()
	return h, nil
}

// exited is an error once the hub has exited by itself.
func (h *hubProc) exited() error {
	select {
	case <-h.done:
		return fmt.Errorf("tandem run exited: %w", h.err)
	default:
		return nil
	}
}

// cpu is the hub's CPU time so far, user and system, from /proc.
func (h *hubProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// stop asks the hub to stop and returns its peak resident memory in bytes.
func (h *hubProc) stop() (int64, error) {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.kill()
		return 0, errors.New("tandem run did not stop within 30s of SIGTERM")
	}
	ru, ok := h.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, nil
	}
	return ru.Maxrss * 1024, nil
}

func (h *hubProc) kill() {
	select {
	case <-h.done:
	default:
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// tail is the end of the hub's log, as an error to add to a failure.
func (h *hubProc) tail() error {
	b, err := os.ReadFile(h.log)
	if err != nil {
		return nil
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return fmt.Errorf("the end of %s:\n%s", h.log, b)
}
