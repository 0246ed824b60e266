package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TLS says how tandem secures its connection to a system: whose
// certificates it trusts, the certificate it shows, and how strictly it
// checks the server's. Paths are relative to the config file.
type TLS struct {
	// CA is a PEM file of the certificate authorities to trust, instead
	// of the machine's.
	CA string `yaml:"ca"`
	// Cert and Key are a PEM client certificate and its private key, for
	// servers that ask for one.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ServerName is the name the server's certificate must carry, when it
	// is not the host tandem dials.
	ServerName string `yaml:"server_name"`
	// Verify is full (the default: the chain and the name), ca (the
	// chain only) or none (no check at all: testing only).
	Verify string `yaml:"verify"`

	Line int `yaml:"-"`
}

// TLSVerifyModes are the values of tls.verify.
var TLSVerifyModes = []string{"full", "ca", "none"}

// Config builds the crypto/tls configuration; nil for a nil t.
func (t *TLS) Config() (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("read tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca %s holds no PEM certificate", t.CA)
		}
		c.RootCAs = pool
	}
	if t.Cert != "" || t.Key != "" {
		if t.Cert == "" || t.Key == "" {
			return nil, errors.New("tls.cert and tls.key go together")
		}
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("load tls.cert and tls.key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	switch t.Verify {
	case "", "full":
	case "ca":
		// Check the chain against the trusted authorities, not the name.
		roots := c.RootCAs
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the server showed no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	case "none":
		c.InsecureSkipVerify = true
	default:
		return nil, fmt.Errorf("tls.verify %q is not one of full, ca, none", t.Verify)
	}
	return c, nil
}

// resolve makes t's paths relative to dir absolute.
func (t *TLS) resolve(dir string) {
	for _, p := range []*string{&t.CA, &t.Cert, &t.Key} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}
