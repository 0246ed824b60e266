package torture

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// hubProc is `tandem run` as a user starts it, in a process of its own
// so that it can be killed.
type hubProc struct {
	bin, cfg, dir string
	level         string
	log           *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
	// exits counts exits the harness did not cause.
	exits    int
	exitErrs []string
	expected bool
}

func newHubProc(bin, cfg, dir, logPath, level string) (*hubProc, error) {
	if level == "" {
		level = "info"
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &hubProc{bin: bin, cfg: cfg, dir: dir, level: level, log: f}, nil
}

// start starts the hub unless it runs.
func (h *hubProc) start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd != nil {
		return nil
	}
	h.starts++
	fmt.Fprintf(h.log, "\n=== torture: start %d of tandem run at %s\n", h.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(h.bin, "run", "-c", h.cfg, "--log-level", h.level) //nolint:noctx // the hub's life is hubProc's: stop and kill signal its process group, and an exit they did not cause is a finding
	cmd.Dir = h.dir
	cmd.Stdout, cmd.Stderr = h.log, h.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start tandem run: %w", err)
	}
	done := make(chan struct{})
	h.cmd, h.done, h.expected = cmd, done, false
	go func() {
		err := cmd.Wait()
		h.mu.Lock()
		if !h.expected {
			h.exits++
			h.exitErrs = append(h.exitErrs, fmt.Sprintf("tandem run exited by itself at %s: %v", time.Now().Format(time.RFC3339), err))
		}
		if h.cmd == cmd {
			h.cmd = nil
		}
		h.mu.Unlock()
		close(done)
	}()
	return nil
}

// kill sends SIGKILL and waits for the process to go.
func (h *hubProc) kill() { h.signal(syscall.SIGKILL) }

// stop asks the hub to stop (SIGTERM), killing it after 20s.
func (h *hubProc) stop() { h.signal(syscall.SIGTERM) }

func (h *hubProc) signal(sig syscall.Signal) {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	if cmd != nil {
		h.expected = true
		fmt.Fprintf(h.log, "\n=== torture: %v to tandem run at %s\n", sig, time.Now().Format(time.RFC3339Nano))
		_ = cmd.Process.Signal(sig)
	}
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// readySince reports whether the hub started last has logged that its
// initial copy is done.
func (h *hubProc) readySince() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, err := os.ReadFile(h.log.Name())
	if err != nil {
		return false
	}
	last := bytes.LastIndex(b, []byte("=== torture: start"))
	return last >= 0 && bytes.Contains(b[last:], []byte("initial snapshots done"))
}

func (h *hubProc) running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cmd != nil
}

func (h *hubProc) close() {
	h.stop()
	_ = h.log.Close()
}
