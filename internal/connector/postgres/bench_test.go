package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/postgres"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
)

var benchTables = []connector.Table{
	{Entity: "contact", Name: "contacts", Key: "id", Columns: []string{"name", "email", "score", "balance", "active", "updated_at"}},
	{Entity: "order", Name: "orders", Key: "id", KeyGenerated: true, Columns: []string{"name", "email", "score", "balance", "active", "updated_at"}},
}

func benchSystem(b *testing.B) *postgres.System {
	b.Helper()
	ctx := context.Background()
	dsn := testenv.Postgres(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE contacts (id text PRIMARY KEY, name text NOT NULL, email text, score integer,
			balance double precision, active boolean, updated_at timestamptz)`,
		`CREATE TABLE orders (id bigserial PRIMARY KEY, name text NOT NULL, email text, score integer,
			balance double precision, active boolean, updated_at timestamptz)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	s, err := postgres.New(ctx, "bench", &config.System{Type: "postgres", DSN: dsn}, benchTables, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(ctx) })
	if err := s.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}

func fields(i int) record.Fields {
	return record.Fields{
		"name": "Contact " + strconv.Itoa(i), "email": fmt.Sprintf("c%d@example.com", i), "score": int64(i % 1000),
		"balance": float64(i) / 7, "active": i%2 == 0, "updated_at": "2024-05-06T07:08:09.123456Z",
	}
}

// BenchmarkApply measures rows per second written to PostgreSQL through
// Apply: upserts by key (new rows, then updates of them), creates with
// the global id as key, and creates with generated keys; sequentially
// and with four batches in flight.
func BenchmarkApply(b *testing.B) {
	for _, batch := range []int{500, 1000} {
		for _, inflight := range []int{1, 4} {
			b.Run(fmt.Sprintf("upsert/batch=%d/inflight=%d", batch, inflight), func(b *testing.B) {
				benchApply(b, batch, inflight, "contact", func(i int) record.Write {
					// Half new rows, half updates of rows written before.
					k := i
					if i%2 == 1 {
						k = i / 2
					}
					return record.Write{Op: record.Upsert, Key: "k" + strconv.Itoa(k), Fields: fields(i)}
				})
			})
		}
		b.Run(fmt.Sprintf("create-gid/batch=%d", batch), func(b *testing.B) {
			benchApply(b, batch, 1, "contact", func(i int) record.Write {
				return record.Write{Op: record.Upsert, GID: "g" + strconv.Itoa(i), Fields: fields(i)}
			})
		})
		b.Run(fmt.Sprintf("create-generated/batch=%d", batch), func(b *testing.B) {
			benchApply(b, batch, 1, "order", func(i int) record.Write {
				return record.Write{Op: record.Upsert, GID: "g" + strconv.Itoa(i), Fields: fields(i)}
			})
		})
	}
}

func benchApply(b *testing.B, batch, inflight int, entity string, write func(i int) record.Write) {
	s := benchSystem(b)
	ctx := context.Background()
	batches := make(chan []record.Write, inflight)
	var wg sync.WaitGroup
	errs := make(chan error, inflight)
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ws := range batches {
				if _, err := s.Apply(ctx, entity, ws); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; i < b.N; i++ {
		ws := make([]record.Write, batch)
		for j := range ws {
			ws[j] = write(n)
			n++
		}
		batches <- ws
	}
	close(batches)
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
}
