package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFileName is the lock file inside the data directory.
const LockFileName = "tandem.lock"

// ErrInUse is the error of locking a data directory another process holds.
var ErrInUse = errors.New("data directory in use")

// Holder describes the process holding a data directory's lock, as it
// wrote itself into the lock file.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

// InUseError says which process holds a data directory. It matches ErrInUse.
type InUseError struct {
	Dir string
	// Holder is what the holder wrote, nil when the lock file holds
	// nothing readable (the holder has only just taken the lock).
	Holder *Holder
}

func (e *InUseError) Error() string {
	who := "another tandem"
	if h := e.Holder; h != nil {
		who = fmt.Sprintf("another tandem (pid %d on host %s, running since %s: %s)",
			h.PID, h.Host, h.Since.UTC().Format(time.RFC3339), h.Command)
	}
	return fmt.Sprintf("data directory %s is in use by %s; stop it first or point store.dir elsewhere", e.Dir, who)
}

func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// Lock is a process's exclusive hold on a data directory: an flock(2) on
// the lock file, so that it ends with the process however the process
// ends — a hub killed with SIGKILL leaves no stale lock behind. The file
// is never removed: a process that opened it just before a removal could
// lock the removed file while another locks a new one.
type Lock struct {
	f *os.File
}

// LockDir takes dir's lock, creating dir (0700) and the lock file (0600)
// if needed or making them private (see makePrivate), and writes this
// process into the lock file. It does not wait: when another process
// holds the lock it returns an *InUseError naming that process.
func LockDir(dir string) (*Lock, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFileName)
	f, err := openPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	held, err := flock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		h := readHolder(f)
		f.Close()
		return nil, &InUseError{Dir: dir, Holder: h}
	}
	if err := writeHolder(f); err != nil {
		f.Close() // closing releases the lock
		return nil, fmt.Errorf("write lock file %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Close releases the lock. The lock file is emptied first, so that it
// names no process once none holds it.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close()
	l.f = nil
	return err
}

func writeHolder(f *os.File) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(Holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second),
		Command: commandLine(os.Args)})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	// Write, then cut: a reader never finds the file empty in between.
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads what the holder wrote; nil if nothing readable is there.
func readHolder(f *os.File) *Holder {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	var h Holder
	// Decode the first value only: trailing bytes may be left of an
	// earlier, longer holder while the current one is writing.
	if err := json.NewDecoder(bytes.NewReader(b[:n])).Decode(&h); err != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// commandLine renders args for a message, quoting those a shell would split.
func commandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
