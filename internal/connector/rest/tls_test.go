package rest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/testenv"
)

// An API behind TLS is reached with the authorities and the client
// certificate a system's tls block names, checked as strictly as it
// says; an API whose certificate tandem does not trust is refused.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	srvCert, srvKey := testenv.Cert(t, dir, "api.test")
	cliCert, cliKey := testenv.Cert(t, dir, "tandem")
	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	pem, err := os.ReadFile(cliCert)
	if err != nil {
		t.Fatal(err)
	}
	clients.AppendCertsFromPEM(pem)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}
	srv.StartTLS()
	defer srv.Close()
	get := func(tc *config.TLS) error {
		t.Helper()
		c, err := tc.Config()
		if err != nil {
			t.Fatal(err)
		}
		cl, err := NewClient(Options{System: "api", Base: srv.URL, TLS: c, API: API{Retries: -1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Do(context.Background(), Request{Method: "GET", Path: "/x"})
		return err
	}
	for _, tc := range []struct {
		name string
		tls  *config.TLS
		ok   bool
		says string
	}{
		{"trusted, with a client certificate", &config.TLS{CA: srvCert, Cert: cliCert, Key: cliKey}, true, ""},
		{"no client certificate", &config.TLS{CA: srvCert}, false, "certificate"},
		{"an authority tandem does not know", &config.TLS{Cert: cliCert, Key: cliKey}, false, "certificate"},
		{"another name: full check", &config.TLS{CA: srvCert, Cert: cliCert, Key: cliKey, ServerName: "other.test"}, false, "other.test"},
		{"another name: chain only", &config.TLS{CA: srvCert, Cert: cliCert, Key: cliKey, ServerName: "other.test", Verify: "ca"}, true, ""},
		{"chain only, unknown authority", &config.TLS{Cert: cliCert, Key: cliKey, Verify: "ca"}, false, "unknown authority"},
		{"no check", &config.TLS{Cert: cliCert, Key: cliKey, Verify: "none"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := get(tc.tls)
			if tc.ok && err != nil {
				t.Fatalf("want it reached: %v", err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.says)) {
				t.Fatalf("want it refused, saying %q: %v", tc.says, err)
			}
		})
	}
}
