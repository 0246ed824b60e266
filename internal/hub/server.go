package hub

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// serverLimits bound what clients may hold of an HTTP server the hub
// runs, so that slow, idle or many clients cannot use up its open files
// (which its store and systems need too) or its memory.
type serverLimits struct {
	// Header is how long a client has to send a request's headers.
	Header time.Duration
	// Read is how long a client has to send a whole request, body included.
	Read time.Duration
	// Write runs from the end of the headers to the end of the answer, so
	// it must cover the body's read and the handler's wait for capture.
	Write time.Duration
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle time.Duration
	// Conns is how many connections are served at once; more wait in the
	// kernel's accept queue, holding no file of the hub's.
	Conns int
	// HeaderBytes bounds a request's headers.
	HeaderBytes int
	// Body bounds a request's body; a longer one is answered 413.
	Body int64
}

// defaultLimits fit webhooks: small signed bodies from few senders
// (HubSpot sends at most 10 at once per app). 512 connections stay well
// under the usual 1024 soft limit on open files, leaving the rest to the
// store and the systems' connections. Write covers Read plus the
// webhook handler's 10s wait for capture.
var defaultLimits = serverLimits{
	Header:      5 * time.Second,
	Read:        10 * time.Second,
	Write:       30 * time.Second,
	Idle:        60 * time.Second,
	Conns:       512,
	HeaderBytes: 64 << 10,
	Body:        1 << 20,
}

// webhookLimits are the webhook server's. Only tests change them.
var webhookLimits = defaultLimits

// newServer is an HTTP server for h within l; its own complaints (like
// failed accepts) go to log.
func newServer(h http.Handler, l serverLimits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           http.MaxBytesHandler(h, l.Body),
		ReadHeaderTimeout: l.Header,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.HeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// limitListener accepts at most l.Conns connections at once from ln.
func limitListener(ln net.Listener, l serverLimits) net.Listener {
	return netutil.LimitListener(ln, l.Conns)
}
