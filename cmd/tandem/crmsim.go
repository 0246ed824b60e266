package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemhub/tandem/internal/sim"
	"github.com/tandemhub/tandem/internal/webhook"
)

func crmsimCmd(g *globals) *cobra.Command {
	var (
		addr, kind, token, hook, secret string
		f                               sim.Faults
		repeat                          int
	)
	c := &cobra.Command{
		Use:   "crmsim",
		Short: "serve a simulated CRM API (generic, salesforce or hubspot) with tunable limits and failures",
		Long: `crmsim serves a simulated CRM for trying tandem's API connectors: its own ids,
paging, updated-at stamps, rate limits answered with 429 (or Salesforce's
REQUEST_LIMIT_EXCEEDED), occasional 500s, lost answers and latency.
  --kind crm          generic REST API under /v1/{collection} (see docs/connectors/http.md)
  --kind salesforce   Salesforce REST API under /services/data/v60.0/
  --kind hubspot      HubSpot CRM v3 API under /crm/v3/objects/
With --webhook it posts signed notifications of every change there.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.logger()
			var h http.Handler
			var store *sim.Store
			var n *sim.Notifier
			switch kind {
			case "crm":
				s := sim.NewCRM(f)
				s.Token, h, store = token, s, s.Store
				n = &sim.Notifier{URL: hook, Scheme: sim.CRMScheme(secret), Repeat: repeat}
			case "salesforce":
				s := sim.NewSalesforce(f)
				s.Token, h, store = token, s, s.Store
			case "hubspot":
				s := sim.NewHubSpot(f)
				s.Token, h, store = token, s, s.Store
				n = &sim.Notifier{URL: hook, Scheme: webhook.HubSpotV3(secret), Repeat: repeat, Body: sim.HubSpotEvents("contacts")}
			default:
				return fmt.Errorf("--kind %q: use crm, salesforce or hubspot", kind)
			}
			if hook != "" {
				if n == nil {
					return errors.New("--webhook: the salesforce simulator sends no webhooks")
				}
				n.Attach(store)
				go n.Run(ctx)
			}
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			log.Info("crmsim serving", "kind", kind, "addr", "http://"+ln.Addr().String(), "rate", f.Rate,
				"error_rate", f.ErrorRate, "lose_rate", f.LoseRate, "latency", f.Latency)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8090", "address to serve on")
	fl.StringVar(&kind, "kind", "crm", "which API: crm, salesforce or hubspot")
	fl.StringVar(&token, "token", "", "bearer token every request must carry (none: no auth)")
	fl.Float64Var(&f.Rate, "rate", 0, "requests a second accepted before answering 429 (0: no limit)")
	fl.IntVar(&f.Burst, "burst", 0, "requests accepted at once after a quiet spell (0: one second's worth)")
	fl.Float64Var(&f.ErrorRate, "error-rate", 0, "share of requests answered 500, like 0.01")
	fl.Float64Var(&f.LoseRate, "lose-rate", 0, "share of writes done whose answer is lost (connection closed)")
	fl.DurationVar(&f.Latency, "latency", 0, "latency added to every answer")
	fl.DurationVar(&f.Jitter, "jitter", 0, "up to this much more latency, at random")
	fl.StringVar(&hook, "webhook", "", "URL to post signed change notifications to, like http://127.0.0.1:7070/webhooks/crm")
	fl.StringVar(&secret, "webhook-secret", "", "HMAC secret that signs the notifications")
	fl.IntVar(&repeat, "webhook-repeat", 1, "send every notification this many times")
	return c
}
