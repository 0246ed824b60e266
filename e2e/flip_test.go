package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRulesThatUndoEachOtherStop: the catalogue has a rule that writes
// every customer's name in capitals, accounting one that writes every
// client's in small letters. Each takes tandem's write of the other's
// value for a reason to write its own, and tandem would pass the record
// back and forth for ever. tandem stops it after a dozen flips with a
// dead letter naming the field and both values, and nothing moves after
// that, though the rules keep watching.
func TestRulesThatUndoEachOtherStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	e.startHub()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cat, acc := e.sys[catalogue], e.sys[accounting]
	if _, err := cat.createAccount(ctx, cat.db, "Acme Corp", "rules@e2e.example", "US"); err != nil {
		t.Fatal(err)
	}
	e.waitAccount("rules@e2e.example", "Acme Corp", accounting, crm)

	// The systems' own rules, as their users' jobs would run them.
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := map[string]int{}
	rule := func(s *system, fn, bytes string) {
		defer wg.Done()
		q := fmt.Sprintf("UPDATE %s SET %s = %s(%s) WHERE %s = %s AND %s%s <> %s(%s)",
			s.acc, s.accName, fn, s.accName, s.accEmail, s.param(1), bytes, s.accName, fn, s.accName)
		for ctx.Err() == nil {
			n, err := s.exec(ctx, q, "rules@e2e.example")
			if err != nil && ctx.Err() == nil {
				t.Errorf("%s's rule: %v", fn, err)
				return
			}
			mu.Lock()
			fired[fn] += int(n)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}
	wg.Add(2)
	go rule(cat, "upper", "")
	go rule(acc, "lower", "BINARY ") // MariaDB compares text ignoring case
	defer wg.Wait()
	defer cancel()

	var d deadLetter
	e.eventually(60*time.Second, "a dead letter of the account's name going back and forth", func() error {
		ds, err := e.deadLetters("open")
		if err != nil {
			return err
		}
		for _, x := range ds {
			if x.Entity == "account" && x.Field == "name" && strings.Contains(x.Error, "back and forth") {
				d = x
				return nil
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("dead letters %+v; the rules fired %v", ds, fired)
	})
	for _, want := range []string{`"ACME CORP"`, `"acme corp"`, catalogue, accounting, "retry"} {
		if !strings.Contains(d.Error, want) {
			t.Errorf("dead letter %d says %q; it should name %s", d.ID, d.Error, want)
		}
	}
	// The record goes round no more: the rules find nothing to do and
	// tandem captures nothing new, for a while.
	quiet := func() (int, int64) {
		rows, err := e.status()
		if err != nil {
			t.Fatal(err)
		}
		captured, _, _, _, _ := totals(rows)
		mu.Lock()
		defer mu.Unlock()
		return fired["upper"] + fired["lower"], captured
	}
	e.eventually(30*time.Second, "the rules and tandem come to rest", func() error {
		f0, c0 := quiet()
		time.Sleep(3 * time.Second)
		if f1, c1 := quiet(); f1 != f0 || c1 != c0 {
			return fmt.Errorf("in 3s the rules fired %d more times and tandem captured %d more changes", f1-f0, c1-c0)
		}
		return nil
	})
	mu.Lock()
	t.Logf("dead letter %d after the rules fired %v: %s", d.ID, fired, d.Error)
	if fired["upper"]+fired["lower"] > 60 {
		t.Errorf("the rules fired %v times before tandem stopped the record going round", fired)
	}
	mu.Unlock()
	if out, err := e.tandem("status"); err == nil {
		t.Errorf("tandem status exits 0 with a record stopped as a dead letter:\n%s", out)
	}
}
