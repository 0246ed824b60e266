package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// FileName is the health file inside the data directory.
const FileName = "health.json"

// StaleAfter is how long after its last rewrite a health file no longer
// describes a running hub. The hub rewrites it every second.
const StaleAfter = 10 * time.Second

// File is what a hub writes of itself.
type File struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Stopped is when the hub stopped, if it stopped cleanly.
	Stopped time.Time         `json:"stopped,omitzero"`
	Systems map[string]System `json:"systems"`
}

// System is how the hub's loops of one system are doing. A part is nil
// until its loop first reports (or when the system has no such loop).
type System struct {
	// Capture reads the system's changes (and first its existing
	// records) and stores them.
	Capture *Condition `json:"capture,omitempty"`
	// Delivery writes to the system and records what was written.
	Delivery *Condition `json:"delivery,omitempty"`
}

// Condition is whether a loop works and since when.
type Condition struct {
	OK bool `json:"ok"`
	// Since is when it last turned ok or failing.
	Since time.Time `json:"since"`
	// Error is the last failure, while failing.
	Error string `json:"error,omitempty"`
	// Attempts counts the failures in a row, while failing.
	Attempts int `json:"attempts,omitempty"`
}

// Read reads the health file in dir. A directory where no hub ever ran
// gives an error matching os.ErrNotExist.
func Read(dir string) (*File, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, FileName), err)
	}
	return &f, nil
}

// Write replaces the health file in dir with f.
func Write(dir string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, FileName)
	// One fixed temporary name: only the hub holding the directory writes.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// Alive says whether the hub that wrote f still runs at now; if not, why
// it is taken to have stopped. A hub is alive if it did not say it
// stopped, rewrote the file within StaleAfter and, when it runs on this
// host, its process exists.
func (f *File) Alive(now time.Time) (bool, string) {
	seen := f.Updated.UTC().Format(time.RFC3339)
	switch {
	case !f.Stopped.IsZero():
		return false, "stopped " + f.Stopped.UTC().Format(time.RFC3339)
	case now.Sub(f.Updated) > StaleAfter:
		return false, fmt.Sprintf("last seen %s, %s ago", seen, now.Sub(f.Updated).Round(time.Second))
	}
	if host, _ := os.Hostname(); host == f.Host && !processAlive(f.PID) {
		return false, fmt.Sprintf("process %d is gone; last seen %s", f.PID, seen)
	}
	return true, ""
}

// processAlive says whether a process with this pid exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
