package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/testenv"
)

// A tls block's files are read relative to the config file at load, and
// every mistake in it is reported with the file, its line and a hint.
func TestTLSBlock(t *testing.T) {
	dir := t.TempDir()
	testenv.Cert(t, dir, "ca")
	testenv.Cert(t, dir, "client")
	load := func(tls string) (*Config, error) {
		t.Helper()
		src := strings.Replace(baseYAML, `  shop: {type: postgres, dsn: "postgres://localhost/shop"}`,
			"  shop:\n    type: postgres\n    dsn: \"postgres://localhost/shop\"\n    tls: "+tls, 1)
		p := filepath.Join(dir, "tandem.yaml")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(p)
	}
	c, err := load("{ca: ca.pem, cert: client.pem, key: client.key, verify: ca}")
	if err != nil {
		t.Fatalf("a good tls block: %v", err)
	}
	tc, err := c.Systems["shop"].TLS.Config()
	if err != nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || !tc.InsecureSkipVerify || tc.VerifyConnection == nil {
		t.Errorf("tls config %+v, %v; want the CA, the client certificate and a chain-only check", tc, err)
	}
	for _, tc := range []struct{ tls, want string }{
		{"{verify: sometimes}", `shop.tls.verify: "sometimes" is not a verify mode`},
		{"{ca: missing.pem}", "read tls.ca"},
		{"{ca: client.key}", "holds no PEM certificate"},
		{"{cert: client.pem}", "tls.cert and tls.key go together"},
		{"{cert: client.pem, key: ca.key}", "load tls.cert and tls.key"},
	} {
		_, err := load(tc.tls)
		var ps Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "tandem.yaml:6:") {
			t.Errorf("tls %s: %v; want a problem at tandem.yaml:6 saying %q", tc.tls, err, tc.want)
		}
	}
}
