package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// The writer leaves the write-ahead log to the checkpointer, which
// copies all of it into the file while the store is open, so the log
// starts again from its beginning instead of growing with every write.
func TestCheckpointerCopiesTheLog(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSQLite(context.Background(), filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(round int) {
		t.Helper()
		err := s.Update(context.Background(), func(tx Tx) error {
			for i := range 200 {
				g := &Golden{Entity: "account", GID: fmt.Sprintf("G%04d-%d", i, round), Ver: int64(round + 1),
					Fields: record.Fields{"name": strings.Repeat("x", 500)}}
				if err := tx.PutGolden(g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wal := filepath.Join(dir, "store", FileName+"-wal")
	caughtUp := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !s.ck.caughtUp.Load() {
			if time.Now().After(deadline) {
				t.Fatal("the checkpointer did not copy the log into the file within 20s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for round := range 20 {
		write(round)
	}
	caughtUp()
	fi, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	high := fi.Size()
	// Copied in full, the log is written again from its start: twenty
	// more rounds of the same size, each once the checkpointer caught up,
	// would double its file were it not; a round whose write began while
	// a checkpoint ran appends instead, which is why some growth is let
	// through.
	for round := 20; round < 40; round++ {
		s.ck.caughtUp.Store(false)
		write(round)
		caughtUp()
	}
	if fi, err = os.Stat(wal); err != nil {
		t.Fatal(err)
	}
	if fi.Size() > high*3/2 {
		t.Fatalf("the log grew from %d to %d bytes though the checkpointer kept up", high, fi.Size())
	}
}
