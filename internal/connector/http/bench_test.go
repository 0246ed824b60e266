package http_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
)

// BenchmarkDeliver measures records delivered a second to the CRM
// simulator through the http connector: one request per record (each)
// or batch endpoints (batch), with the simulator's rate limit off or at
// 60 requests a second, and tandem's own rate_limit off or just below it.
// Each op writes 300 records (updates of existing records, so one
// request carries one record in "each").
//
//	go test -run '^$' -bench Deliver -benchtime 1x ./internal/connector/http/
func BenchmarkDeliver(b *testing.B) {
	const records = 300
	for _, c := range []struct {
		name    string
		simRate float64
		own     string
		batch   bool
	}{
		{"each/sim-unlimited/tandem-off", 0, "", false},
		{"batch/sim-unlimited/tandem-off", 0, "", true},
		{"each/sim-60rps/tandem-off", 60, "", false},
		{"each/sim-60rps/tandem-55rps", 60, "55/s", false},
		{"batch/sim-60rps/tandem-off", 60, "", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			crm := sim.NewCRM(sim.Faults{})
			srv := httptest.NewServer(crm)
			defer srv.Close()
			keys := make([]string, records)
			for i := range keys {
				r, _ := crm.Store.Create("contacts", map[string]any{"name": "x", "email": fmt.Sprintf("c%d@example.com", i)})
				keys[i] = r.ID
			}
			crm.SetFaults(sim.Faults{Rate: c.simRate, Burst: 5})
			res := &httpapi.Resource{Records: "data"}
			if c.batch {
				res.Batch = &httpapi.Batch{Update: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}
			}
			client, err := rest.NewClient(rest.Options{System: "crm", Base: srv.URL + "/v1",
				API: rest.API{RateLimit: c.own, Burst: 5, MaxWait: config.Duration(10 * time.Minute)}})
			if err != nil {
				b.Fatal(err)
			}
			s, err := httpapi.Open("crm", client, &httpapi.Settings{Resources: map[string]*httpapi.Resource{"contacts": res}},
				[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name", "email"}}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for n := range b.N {
				for from := 0; from < records; from += 100 {
					ws := make([]record.Write, 0, 100)
					for i := from; i < from+100; i++ {
						ws = append(ws, record.Write{Op: record.Upsert, Key: keys[i], GID: fmt.Sprint(i),
							Fields: record.Fields{"name": fmt.Sprintf("n%d-%d", n, i)}})
					}
					out, err := s.Apply(ctx, "contact", ws)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range out {
						if r.Err != nil {
							b.Fatal(r.Err)
						}
					}
				}
			}
			el := time.Since(start)
			st := crm.Stats()
			b.ReportMetric(float64(records*b.N)/el.Seconds(), "records/s")
			b.ReportMetric(float64(st.Limited), "429s")
		})
	}
}
