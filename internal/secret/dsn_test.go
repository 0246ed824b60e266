package secret

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDSN(t *testing.T) {
	cases := []struct {
		in, masked string
		passwords  []string
	}{
		{"postgres://u:pw@host:5432/db", "postgres://u:***@host:5432/db", []string{"pw"}},
		{"postgres://u@host/db", "postgres://u@host/db", nil},
		{"postgres://host/db?sslmode=disable", "postgres://host/db?sslmode=disable", nil},
		// A password holding an unescaped @ is masked to the last @ before the host.
		{"postgres://u:p@ss@host/db", "postgres://u:***@host/db", []string{"p@ss"}},
		{"postgres://u:a@b@c@host:5432/db?x=1", "postgres://u:***@host:5432/db?x=1", []string{"a@b@c"}},
		{"postgres://u:p/w?x@host/db", "postgres://u:***@host/db", []string{"p/w?x"}},
		{"postgres://u:p%40ss@host/db", "postgres://u:***@host/db", []string{"p%40ss", "p@ss"}},
		{"postgres://u:pw@host/db?application_name=a@b", "postgres://u:***@host/db?application_name=a@b", []string{"pw"}},
		{"postgres://host/db?user=u&password=pw&sslmode=disable", "postgres://host/db?user=u&password=***&sslmode=disable", []string{"pw"}},
		{"postgres://u@host/db?sslpassword=kp", "postgres://u@host/db?sslpassword=***", []string{"kp"}},
		{"amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/", []string{"guest"}},
		{"nats://a:p1@h1:4222,nats://b:p2@h2:4222", "nats://a:***@h1:4222,nats://b:***@h2:4222", []string{"p1", "p2"}},
		{"https://api.example.com/v1", "https://api.example.com/v1", nil},
		// MySQL.
		{"root:pw@tcp(127.0.0.1:3306)/db", "root:***@tcp(127.0.0.1:3306)/db", []string{"pw"}},
		{"root:p@ss@tcp(127.0.0.1:3306)/db?parseTime=true", "root:***@tcp(127.0.0.1:3306)/db?parseTime=true", []string{"p@ss"}},
		{"root:p:w@/db", "root:***@/db", []string{"p:w"}},
		{"root@tcp(127.0.0.1:3306)/db", "root@tcp(127.0.0.1:3306)/db", nil},
		{"root:@tcp(h)/db", "root:***@tcp(h)/db", nil},
		// keyword=value.
		{"host=h user=u password=pw dbname=d", "host=h user=u password=*** dbname=d", []string{"pw"}},
		{"host=h password = 'p w\\'x' dbname=d", "host=h password = *** dbname=d", []string{`'p w\'x'`, "p w'x"}},
		{"host=h PASSWORD=pw", "host=h PASSWORD=***", []string{"pw"}},
		{"host=h mypassword=pw", "host=h mypassword=pw", nil},
		{"host=h password='unterminated", "host=h password=***", []string{"'unterminated"}},
		// Not connection strings.
		{"./crm.db", "./crm.db", nil},
		{"", "", nil},
	}
	for _, tc := range cases {
		if got := DSN(tc.in); got != tc.masked {
			t.Errorf("DSN(%q) = %q, want %q", tc.in, got, tc.masked)
		}
		if got := Passwords(tc.in); !cmp.Equal(got, tc.passwords) {
			t.Errorf("Passwords(%q) = %q, want %q", tc.in, got, tc.passwords)
		}
	}
}

func TestURLUserinfo(t *testing.T) {
	cases := []struct {
		in   string
		info string
		ok   bool
	}{
		{"postgres://u:p@ss@host/db", "u:p@ss", true},
		{"postgres://u:pw@host/db?x=a@b", "u:pw", true},
		{"postgres://host/db", "", false},
		{"root:pw@tcp(h)/db", "", false},
	}
	for _, tc := range cases {
		i, j, ok := URLUserinfo(tc.in)
		if ok != tc.ok || ok && tc.in[i:j] != tc.info {
			t.Errorf("URLUserinfo(%q) = %d, %d, %v; want %q, %v", tc.in, i, j, ok, tc.info, tc.ok)
		}
	}
}

// FuzzDSN: any string is read without panicking, and the passwords
// found are in order, inside it and apart.
func FuzzDSN(f *testing.F) {
	for _, s := range []string{"postgres://u:p@ss@h/db", "u:p@tcp(h)/d", "host=h password='x", "nats://a:b@c,nats://d:e@f?password=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		last := 0
		for _, sp := range passwordSpans(s) {
			if sp.i < last || sp.j < sp.i || sp.j > len(s) {
				t.Fatalf("passwordSpans(%q): %v out of order or range", s, passwordSpans(s))
			}
			last = sp.j
		}
		_ = DSN(s)
	})
}
