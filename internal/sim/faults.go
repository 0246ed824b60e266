package sim

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Faults are the misbehaviours of a simulator. The zero value is a
// perfect server.
type Faults struct {
	// Rate is the requests a second the server accepts (token bucket);
	// beyond it requests are refused with 429. 0 accepts all.
	Rate float64
	// Burst is the bucket's size. Default: one second's worth.
	Burst int
	// ErrorRate is the share of requests answered 500 without doing anything.
	ErrorRate float64
	// LoseRate is the share of writes that are done but whose answer is
	// lost: the connection is closed before the answer is sent.
	LoseRate float64
	// Latency is added to every answer, with up to Jitter more.
	Latency, Jitter time.Duration
	// SlowRate is the share of writes whose answer, after the write is
	// done, is held back for Slow: longer than a client's timeout, it is
	// a write whose answer never arrives.
	SlowRate float64
	Slow     time.Duration
	// Seed, when set, makes the faults' draws the same run after run
	// (tests that must see each fault); 0 draws anew each time.
	Seed uint64
}

// Stats counts what a simulator did.
type Stats struct {
	Requests, Limited, Failed, Lost, Slow int64
}

// gate applies Faults to requests.
type gate struct {
	mu     sync.Mutex
	f      Faults
	bucket *rate.Limiter
	rng    *rand.Rand
	stats  struct{ requests, limited, failed, lost, slow atomic.Int64 }
}

func newGate(f Faults) *gate {
	seed := f.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	g := &gate{rng: rand.New(rand.NewPCG(seed, 7))}
	g.set(f)
	return g
}

func (g *gate) set(f Faults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.f = f
	if f.Rate > 0 {
		b := f.Burst
		if b <= 0 {
			b = max(1, int(f.Rate))
		}
		g.bucket = rate.NewLimiter(rate.Limit(f.Rate), b)
	} else {
		g.bucket = nil
	}
}

func (g *gate) faults() Faults {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.f
}

// verdict is what the gate decided for one request.
type verdict int

const (
	pass verdict = iota
	limited
	failed
)

// admit waits out the latency and decides the request's fate. retry is
// how long a limited request should wait.
func (g *gate) admit() (verdict, time.Duration) {
	g.stats.requests.Add(1)
	g.mu.Lock()
	f, b := g.f, g.bucket
	var delay time.Duration
	if f.Jitter > 0 {
		delay = time.Duration(g.rng.Int64N(int64(f.Jitter)))
	}
	fail := f.ErrorRate > 0 && g.rng.Float64() < f.ErrorRate
	g.mu.Unlock()
	if d := f.Latency + delay; d > 0 {
		time.Sleep(d)
	}
	if b != nil {
		r := b.Reserve()
		if d := r.Delay(); d > 0 {
			r.Cancel()
			g.stats.limited.Add(1)
			return limited, d
		}
	}
	if fail {
		g.stats.failed.Add(1)
		return failed, 0
	}
	return pass, 0
}

// lose decides whether to lose the answer of a write that was done,
// and holds back the answers of slow ones.
func (g *gate) lose() bool {
	g.mu.Lock()
	lost := g.f.LoseRate > 0 && g.rng.Float64() < g.f.LoseRate
	slow := !lost && g.f.SlowRate > 0 && g.rng.Float64() < g.f.SlowRate
	d := g.f.Slow
	g.mu.Unlock()
	if lost {
		g.stats.lost.Add(1)
	}
	if slow && d > 0 {
		g.stats.slow.Add(1)
		time.Sleep(d)
	}
	return lost
}

func (g *gate) snapshot() Stats {
	return Stats{Requests: g.stats.requests.Load(), Limited: g.stats.limited.Load(),
		Failed: g.stats.failed.Load(), Lost: g.stats.lost.Load(), Slow: g.stats.slow.Load()}
}

// drop closes the connection without an answer, as a network failure
// after the server did the work would.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
