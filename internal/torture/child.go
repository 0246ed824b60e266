package torture

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// child is a server the harness runs in a process of its own (json-server,
// the CRM simulator), answering HTTP at url.
type child struct {
	what string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	// output says what it wrote, for an error when it exits early.
	output func() string
}

// startChild starts cmd, with its output to out, and waits until a GET
// of probe (a URL) answers at all.
func startChild(ctx context.Context, what string, cmd *exec.Cmd, out io.Writer, output func() string, url, probe string) (*child, error) {
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", what, cmd.Path, err)
	}
	c := &child{what: what, url: url, cmd: cmd, done: make(chan struct{}), output: output}
	go func() { _ = cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := get(ctx, probe)
		if err == nil {
			resp.Body.Close()
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited: %s", what, output())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s did not answer within 30s: %w", what, err)
		}
	}
}

// get is a GET of url that ends with ctx.
func get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// stop ends the process group with SIGTERM, then SIGKILL after 5s.
func (c *child) stop() {
	if c.cmd.Process != nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}
