package bench_test

import (
	"context"
	"testing"

	"github.com/tandemhub/tandem/internal/bench"
	"github.com/tandemhub/tandem/internal/testenv"
)

// BenchmarkEndToEnd pushes b.N changes (half creates, half updates)
// from an in-memory source through the embedded store into a real
// PostgreSQL table, and reports changes/s and latency percentiles.
//
//	CI=true go test -run '^$' -bench EndToEnd -benchtime 100000x ./internal/bench/
func BenchmarkEndToEnd(b *testing.B) {
	dsn := testenv.Postgres(b)
	run(b, bench.Options{Target: "postgres", DSN: dsn})
}

// BenchmarkHub is BenchmarkEndToEnd into an in-memory destination: the
// hub's own cost, without a database on the far side.
func BenchmarkHub(b *testing.B) {
	run(b, bench.Options{Target: "memory"})
}

func run(b *testing.B, opt bench.Options) {
	opt.Changes = max(b.N, 2000)
	opt.Records = max(opt.Changes/2, 1)
	opt.Dir = b.TempDir()
	b.ResetTimer()
	r, err := bench.Run(context.Background(), opt)
	if err != nil {
		b.Fatal(err)
	}
	if r.Delivered == 0 {
		b.Fatal("nothing was delivered")
	}
	b.ReportMetric(r.PerSecond, "changes/s")
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
}
