package bench

import "testing"

// The benchmark's database keeps the server's user, password and
// options, whichever way the server's address is written.
func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://bench:s3cr%40t@db:5433/postgres?sslmode=disable", "postgres://bench:s3cr%40t@db:5433/tandem_bench_1?sslmode=disable"},
		{"postgresql://u@h/", "postgresql://u@h/tandem_bench_1"},
		{"host=db user=bench password=pw", "host=db user=bench password=pw dbname=tandem_bench_1"},
	} {
		if got := withDatabase(tc.dsn, "tandem_bench_1"); got != tc.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}
