package rest

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/secret"
)

// Defaults of the API settings left out.
const (
	DefaultTimeout = 30 * time.Second
	DefaultRetries = 4
	DefaultMaxWait = 2 * time.Minute
	DefaultOverlap = time.Second
)

// Options configure a Client.
type Options struct {
	// System names the system in errors and logs.
	System string
	// Base is the API's base URL; request paths are relative to it.
	Base string
	API  API
	// Decode reads a vendor's error answer; nil uses DecodeError.
	Decode func(status int, body []byte) *APIError
	// HTTP replaces the default transport (tests).
	HTTP *http.Client
	Log  *slog.Logger
	// Backoff is the first retry delay. Default 200ms.
	Backoff time.Duration
	// TLS, when set, is how the connection is secured (config.TLS).
	TLS *tls.Config
}

// Client sends requests to one system: paced, retried, with errors decoded.
// It is safe for concurrent use.
type Client struct {
	system  string
	base    *url.URL
	hc      *http.Client
	lim     *Limiter
	header  http.Header
	timeout time.Duration
	retries int
	maxWait time.Duration
	backoff time.Duration
	decode  func(int, []byte) *APIError
	log     *slog.Logger
	// redact masks the client's own credentials in what the system
	// answers: some APIs quote the token they refuse.
	redact *secret.Redactor
}

// NewClient makes a client from o.
func NewClient(o Options) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(o.Base, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("system %q: %q is not a base URL", o.System, secret.DSN(o.Base))
	}
	perSecond, err := ParseRate(o.API.RateLimit)
	if err != nil {
		return nil, fmt.Errorf("system %q: %w", o.System, err)
	}
	c := &Client{system: o.System, base: base, hc: o.HTTP, lim: NewLimiter(perSecond, o.API.Burst),
		header: http.Header{}, timeout: o.API.Timeout.D(), retries: o.API.Retries, maxWait: o.API.MaxWait.D(),
		backoff: o.Backoff, decode: o.Decode, log: o.Log,
		redact: secret.New(append(config.SecretsOf(o.API), secret.Passwords(o.Base)...)...)}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		if o.TLS != nil {
			tr.TLSClientConfig = o.TLS
		}
		c.hc = &http.Client{Transport: tr}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.retries == 0 {
		c.retries = DefaultRetries
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.backoff <= 0 {
		c.backoff = 200 * time.Millisecond
	}
	if c.decode == nil {
		c.decode = DecodeError
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for k, v := range o.API.Headers {
		c.header.Set(k, v)
	}
	if a := o.API.Auth; a != nil {
		switch {
		case a.Bearer != "":
			c.header.Set("Authorization", "Bearer "+a.Bearer)
		case a.Basic != nil:
			c.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Basic.User+":"+a.Basic.Password)))
		case a.Header != nil:
			c.header.Set(a.Header.Name, a.Header.Value)
		}
	}
	c.header.Set("Accept", "application/json")
	c.header.Set("User-Agent", "tandem")
	return c, nil
}

// Clock makes the small request r and returns the server's time from
// the answer's Date header, or the local time if it sends none: change
// cursors start from the server's clock, not this machine's.
func (c *Client) Clock(ctx context.Context, r Request) (time.Time, error) {
	resp, err := c.Do(ctx, r)
	if err != nil {
		return time.Time{}, err
	}
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		return t, nil
	}
	return time.Now(), nil
}

// Limiter is the client's limiter.
func (c *Client) Limiter() *Limiter { return c.lim }

// SetAuth replaces the Authorization header (after a token refresh).
func (c *Client) SetAuth(value string) { c.header.Set("Authorization", value) }

// URL resolves a request path against the base URL.
func (c *Client) URL(path string, q url.Values) (*url.URL, error) {
	var u *url.URL
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		p, err := url.Parse(path)
		if err != nil {
			return nil, err
		}
		if p.Host != c.base.Host {
			return nil, fmt.Errorf("link %q leaves %s", path, c.base.Host)
		}
		u = p
	} else {
		p, err := url.Parse(path)
		if err != nil {
			return nil, err
		}
		u = c.base.JoinPath(p.Path)
		u.RawQuery = p.RawQuery
	}
	if len(q) > 0 {
		all := u.Query()
		for k, vs := range q {
			all[k] = append(all[k], vs...)
		}
		u.RawQuery = all.Encode()
	}
	return u, nil
}
