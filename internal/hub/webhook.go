package hub

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// WebhookMux routes POST /webhooks/SYSTEM to the systems that accept
// notifications. It is nil when none does.
func (h *Hub) WebhookMux() *http.ServeMux {
	var mux *http.ServeMux
	for _, name := range h.cfg.SystemNames() {
		hd := h.caps[name].Webhook
		if hd == nil {
			continue
		}
		if mux == nil {
			mux = http.NewServeMux()
		}
		mux.Handle("/webhooks/"+name, hd)
	}
	return mux
}

// serveWebhooks serves the webhook endpoints on cfg.Listen until ctx
// ends. It listens before capture starts, so notifications sent during
// the initial snapshot wait for it rather than being refused. The server
// keeps within webhookLimits: a client that is slow to send, or idle, is
// dropped, and connections beyond the cap wait to be accepted.
func (h *Hub) serveWebhooks(ctx context.Context, ready chan<- error) {
	mux := h.WebhookMux()
	if h.cfg.Listen == "" || mux == nil {
		ready <- nil
		return
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", h.cfg.Listen)
	if err != nil {
		ready <- err
		return
	}
	limits := webhookLimits
	srv := newServer(mux, limits, h.log)
	h.log.Info("accepting webhooks", "addr", ln.Addr().String(), "max_conns", limits.Conns)
	ready <- nil
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close() // answers still unsent after 5s are cut off
		}
	}()
	err = srv.Serve(limitListener(ln, limits))
	if !errors.Is(err, http.ErrServerClosed) {
		h.log.Error("webhook server stopped", "err", err)
		return
	}
	<-stopped
}
