package health

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Part is one loop of a system that reports to a Board.
type Part uint8

const (
	Capture       Part = iota // reading a system's changes and storing them
	Destination               // writing to a system: it answers, or fails every write
	DeliveryStore             // reading a system's delivery queue and recording its rounds
	Reports                   // handling a system's reports of its writes
)

// Board is what the hub's loops last reported, in memory. Its methods
// are safe for concurrent use.
type Board struct {
	now     func() time.Time
	started time.Time
	changed chan struct{}

	mu    sync.Mutex
	parts map[string]map[Part]*Condition
}

// NewBoard makes an empty board of a hub started now.
func NewBoard() *Board {
	return &Board{now: time.Now, started: time.Now(), changed: make(chan struct{}, 1),
		parts: map[string]map[Part]*Condition{}}
}

// Report records the outcome of one attempt of system's part: nil if it
// worked.
func (b *Board) Report(system string, p Part, err error) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	ps := b.parts[system]
	if ps == nil {
		ps = map[Part]*Condition{}
		b.parts[system] = ps
	}
	c := ps[p]
	if err == nil {
		if c == nil || !c.OK {
			ps[p] = &Condition{OK: true, Since: now}
			b.signal()
		}
		return
	}
	if c == nil || c.OK {
		c = &Condition{Since: now}
		ps[p] = c
		b.signal()
	}
	c.Error = err.Error()
	c.Attempts++
}

func (b *Board) signal() {
	select {
	case b.changed <- struct{}{}:
	default:
	}
}

// File is the board as the health file shows it, updated now.
func (b *Board) File() *File {
	host, _ := os.Hostname()
	f := &File{PID: os.Getpid(), Host: host, Started: b.started.UTC(), Updated: b.now().UTC(), Systems: map[string]System{}}
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, ps := range b.parts {
		var s System
		if c := ps[Capture]; c != nil {
			cp := *c
			s.Capture = &cp
		}
		s.Delivery = merge(ps[Destination], ps[DeliveryStore], ps[Reports])
		f.Systems[name] = s
	}
	return f
}

// merge rolls parts up into one condition: failing since the earliest
// failing part began to fail, with its error; otherwise ok since the
// last one recovered. Nil if no part has reported.
func merge(parts ...*Condition) *Condition {
	var out *Condition
	for _, c := range parts {
		switch {
		case c == nil:
		case out == nil:
			cp := *c
			out = &cp
		case !c.OK && (out.OK || c.Since.Before(out.Since)):
			cp := *c
			out = &cp
		case c.OK && out.OK && c.Since.After(out.Since):
			out.Since = c.Since
		}
	}
	return out
}

// Run writes the health file into dir every interval and whenever a part
// turns ok or failing, until ctx ends; then it writes that the hub
// stopped. A file it cannot write is logged once, until it can again.
func (b *Board) Run(ctx context.Context, dir string, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	write := func(f *File) {
		err := Write(dir, f)
		switch {
		case err != nil && !failing:
			log.Warn("writing the health file failed; tandem status cannot see this hub", "err", err)
		case err == nil && failing:
			log.Info("health file written again")
		}
		failing = err != nil
	}
	for {
		write(b.File())
		select {
		case <-ctx.Done():
			f := b.File()
			f.Stopped = f.Updated
			write(f)
			return
		case <-t.C:
		case <-b.changed:
		}
	}
}
