package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestKillAndRestartLosesNothing: the catalogue's users create and update
// accounts (and contacts of some of them) in a steady stream; tandem is
// killed with SIGKILL twice mid-stream, each time after it has delivered
// part of it, and started again while the stream goes on. Once it has drained, the other
// two systems hold exactly the stream's records, none lost, none twice,
// each with its last values and contacts pointing at the right account.
func TestKillAndRestartLosesNothing(t *testing.T) {
	t.Parallel()
	const (
		accounts = 2000
		perTx    = 20
	)
	e := newEnv(t, configOptions{})
	e.startHub()
	ctx := context.Background()
	cat := e.sys[catalogue]

	type result struct {
		names    map[string]string // account email → last name written
		contacts map[string]string // contact email → its account's email
		err      error
	}
	// The stream waits at each checkpoint until tandem has been killed
	// once more, so that every kill falls mid-stream however fast or
	// slow this machine is.
	checkpoints := []int{800, 1600}
	thresholds := []int{300, 1000} // accounts in the crm before each kill
	killed := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var written atomic.Int64
	done := make(chan result, 1)
	go func() {
		res := result{names: map[string]string{}, contacts: map[string]string{}}
		defer func() { done <- res }()
		rng := rand.New(rand.NewPCG(1, 2))
		var emails []string
		for i := 0; i < accounts; i += perTx {
			for k, c := range checkpoints {
				if i == c {
					select {
					case <-killed[k]:
					case <-time.After(60 * time.Second):
						res.err = fmt.Errorf("tandem was not killed at checkpoint %d", c)
						return
					}
				}
			}
			tx, err := cat.db.BeginTx(ctx, nil)
			if err != nil {
				res.err = err
				return
			}
			for j := i; j < i+perTx; j++ {
				email := fmt.Sprintf("k%04d@e2e.example", j)
				name := fmt.Sprintf("Account %d", j)
				id, err := cat.createAccount(ctx, tx, name, email, countries[j%4])
				if err != nil {
					_ = tx.Rollback()
					res.err = err
					return
				}
				emails = append(emails, email)
				res.names[email] = name
				if j%10 == 0 {
					ce := fmt.Sprintf("c%04d@e2e.example", j)
					if _, err := cat.createContact(ctx, tx, "Con", fmt.Sprintf("Tact %d", j), ce, id); err != nil {
						_ = tx.Rollback()
						res.err = err
						return
					}
					res.contacts[ce] = email
				}
			}
			for u := 0; u < 5; u++ {
				email := emails[rng.IntN(len(emails))]
				name := fmt.Sprintf("Account %s renamed %d.%d", email[:5], i, u)
				if _, err := tx.ExecContext(ctx, `UPDATE customers SET name = $1 WHERE email = $2`, name, email); err != nil {
					_ = tx.Rollback()
					res.err = err
					return
				}
				res.names[email] = name
			}
			if err := tx.Commit(); err != nil {
				res.err = err
				return
			}
			written.Store(int64(i + perTx))
			time.Sleep(15 * time.Millisecond)
		}
	}()

	// Kill the hub twice, each time once more of the stream has reached
	// the CRM, and start it again while the stream goes on.
	for k, threshold := range thresholds {
		var inCRM int
		e.eventually(30*time.Second, "accounts reach the crm", func() error {
			if err := e.sys[crm].db.QueryRowContext(ctx, `SELECT count(*) FROM companies`).Scan(&inCRM); err != nil {
				return err
			}
			if inCRM < threshold {
				return fmt.Errorf("%d accounts in crm, waiting for %d", inCRM, threshold)
			}
			return nil
		})
		e.hub.kill()
		at := written.Load()
		t.Logf("killed tandem with %d of %d accounts written to the catalogue, %d of them in the crm", at, accounts, inCRM)
		if at >= accounts {
			t.Fatalf("the stream ended before tandem was killed; the test did not test a crash mid-stream")
		}
		close(killed[k])
		e.startHub()
	}

	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the stream did not finish within 60s")
	}
	if res.err != nil {
		t.Fatalf("writing the stream: %v", res.err)
	}
	e.drain(60 * time.Second)

	hs, err := e.holdings()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range systemNames {
		h := hs[s]
		for _, d := range h.dupes {
			t.Errorf("%s holds %s more than once", s, d)
		}
		if len(h.accounts) != accounts {
			t.Errorf("%s holds %d accounts, want exactly %d", s, len(h.accounts), accounts)
		}
		if len(h.contacts) != len(res.contacts) {
			t.Errorf("%s holds %d contacts, want exactly %d", s, len(h.contacts), len(res.contacts))
		}
		wrong := 0
		for email, name := range res.names {
			a, ok := h.accounts[email]
			switch {
			case !ok:
				t.Errorf("account %s is missing from %s", email, s)
			case a.Name != name:
				t.Errorf("account %s in %s is named %q, want its last name %q", email, s, a.Name, name)
			default:
				continue
			}
			if wrong++; wrong == 10 {
				t.Errorf("... and maybe more in %s", s)
				break
			}
		}
		for ce, acc := range res.contacts {
			c, ok := h.contacts[ce]
			if !ok {
				t.Errorf("contact %s is missing from %s", ce, s)
				continue
			}
			if c.AccountEmail != acc || c.AccountKey != h.accounts[acc].Key {
				t.Errorf("contact %s in %s points at %q (%s), want %q (%s)", ce, s, c.AccountKey, c.AccountEmail, h.accounts[acc].Key, acc)
			}
		}
	}
	if d := disagreements(hs); len(d) > 0 {
		t.Errorf("%d disagreements:\n%s", len(d), strings.Join(first(d, 20), "\n"))
	}
	e.noDeadLetters()
}
