package torture

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// tcpProxy stands between tandem and a server. Cut breaks every
// connection and refuses new ones, as an outage would; Slow delays every
// chunk of data; Heal ends both.
type tcpProxy struct {
	target string
	ln     net.Listener
	ctx    context.Context // of its dials; cancelled by Close
	cancel context.CancelFunc

	mu    sync.Mutex
	cut   bool
	delay time.Duration
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newTCPProxy(ctx context.Context, target string) (*tcpProxy, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{target: target, ln: ln, conns: map[net.Conn]bool{}}
	// The proxy serves until Close, after the run's context too: tandem
	// stops through it.
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) Slow(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

func (p *tcpProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.delay = false, 0
}

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			_ = c.Close()
			continue
		}
		d := net.Dialer{Timeout: 5 * time.Second}
		s, err := d.DialContext(p.ctx, "tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			_ = s.Close()
			continue
		}
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

func (p *tcpProxy) Close() {
	p.cancel()
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

// apiFault is what the API proxy does to requests for a while.
type apiFault int32

const (
	apiOK         apiFault = iota
	api429                 // answers 429 with Retry-After
	api500                 // answers 500 to a share of requests
	apiTimeout             // holds a share of requests past tandem's timeout, never forwarding them
	apiLoseAnswer          // forwards a share of writes, then drops the connection without the answer
)

func (f apiFault) String() string {
	return [...]string{"none", "429 storm", "500s", "timeouts", "lost answers"}[f]
}

// apiProxy stands between tandem and an HTTP API and misbehaves on demand.
type apiProxy struct {
	srv   *http.Server
	ln    net.Listener
	rp    *httputil.ReverseProxy
	fault atomic.Int32
	n     atomic.Int64
	// hits counts requests the current fault touched.
	hits atomic.Int64
}

func newAPIProxy(ctx context.Context, target string) (*apiProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &apiProxy{ln: ln, rp: httputil.NewSingleHostReverseProxy(u)}
	p.rp.ErrorLog = log.New(io.Discard, "", 0)
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *apiProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *apiProxy) Set(f apiFault) { p.fault.Store(int32(f)) }

func (p *apiProxy) Close() { _ = p.srv.Close() }

func (p *apiProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := p.n.Add(1)
	switch apiFault(p.fault.Load()) {
	case api429:
		p.hits.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error": "too many requests"}`, http.StatusTooManyRequests)
		return
	case api500:
		if n%3 == 0 {
			p.hits.Add(1)
			http.Error(w, `{"error": "internal error"}`, http.StatusInternalServerError)
			return
		}
	case apiTimeout:
		if n%3 == 0 {
			p.hits.Add(1)
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
			return
		}
	case apiLoseAnswer:
		if r.Method != http.MethodGet && n%2 == 0 {
			p.hits.Add(1)
			rec := &discard{h: http.Header{}}
			p.rp.ServeHTTP(rec, r) // the write happens…
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					_ = c.Close() // …and its answer is lost
					return
				}
			}
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// discard is a ResponseWriter that throws the answer away.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return io.Discard.Write(b) }
func (d *discard) WriteHeader(code int)        { d.code = code }
