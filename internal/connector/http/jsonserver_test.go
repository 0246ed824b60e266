package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// jsonServer is a running json-server 0.17, a real REST server with ids
// of its own: a create gets the largest id in use plus one, so the id of
// a deleted last record is given to the next one.
type jsonServer struct {
	t   *testing.T
	URL string
}

func jsonServerBin(t *testing.T) string { return testenv.JSONServer(t) }

// startJSONServer starts json-server on db (collection → records); it
// stops when the test ends.
func startJSONServer(t *testing.T, db map[string][]map[string]any) *jsonServer {
	t.Helper()
	bin := jsonServerBin(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "db.json")
	data, err := json.Marshal(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--quiet", file)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start json-server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("json-server output:\n%s", out.String())
		}
	})
	s := &jsonServer{t: t, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(s.URL + "/db")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("json-server did not start within 30s: %v\n%s", err, out.String())
		}
	}
}

// do sends a request as json-server's own users would and decodes the answer.
func (s *jsonServer) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// list returns a collection's records.
func (s *jsonServer) list(collection string) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	if err := s.do("GET", "/"+collection, nil, &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}
