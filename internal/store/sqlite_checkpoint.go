package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// The store's writer does not copy the write-ahead log into the file
// itself (wal_autocheckpoint is off): SQLite would do so inside the
// commit that takes the log past 1,000 pages, with capture or delivery
// waiting on the single writer. A checkpointer does it beside them, on
// its own connection, every checkpointEvery. A PASSIVE checkpoint never
// waits for readers and never holds the writer; the writer starts the
// log again from its beginning once all of it is copied. Readers that
// keep a large log from being copied get a RESTART checkpoint, which
// waits for them (busy_timeout) and holds the writer while it runs, so
// the log stays bounded. Measured on the pg-to-pg workload, side by
// side: copy 10,627/10,653 rows/s with SQLite's own checkpoints,
// 12,318/12,985 with this, copy CPU 14.8 -> 12.0-13.0 s.
const (
	checkpointEvery = 200 * time.Millisecond
	// walRestartPages is the log size (in pages) past which the
	// checkpointer waits for readers: 20,000 pages of 4 KiB, 80 MB.
	walRestartPages = 20_000
	// checkpointWithin bounds one checkpoint, waits for readers included.
	checkpointWithin = 30 * time.Second
)

// checkpointer runs the store's checkpoints until closed.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	// caughtUp says the last checkpoint copied the whole log.
	caughtUp atomic.Bool
	once     sync.Once
}

func startCheckpoints(s *SQLite) (*checkpointer, error) {
	db, err := sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(15000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run(s)
	return c, nil
}

func (c *checkpointer) run(s *SQLite) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		log, copied, err := c.checkpoint("PASSIVE")
		if err == nil && log > walRestartPages && copied < log {
			log, copied, err = c.checkpoint("RESTART")
		}
		if err != nil {
			// Damage stops the hub (see Damaged); anything else is tried
			// again at the next tick, and the log waits meanwhile.
			_ = s.seen(damaged(s.path, err))
			continue
		}
		c.caughtUp.Store(copied == log)
	}
}

// checkpoint runs one checkpoint in mode and returns the log's size and
// how much of it is in the file now, in pages.
func (c *checkpointer) checkpoint(mode string) (log, copied int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointWithin)
	defer cancel()
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &copied)
	return log, copied, err
}

// close stops the checkpoints and closes their connection; closing
// again does nothing.
func (c *checkpointer) close() (err error) {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}
