package rest

// The settings every API connector type (http, salesforce, hubspot)
// shares, as they are written in its block of tandem.yaml, and their
// checks. For these types a system's dsn is the API's base URL.

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/secret"
)

// API is what every API connector type's block holds: authentication,
// politeness and timeouts. The types embed it with `yaml:",inline"`.
type API struct {
	// Auth says how tandem signs in. Write secrets as ${ENV_VAR} or ${file:PATH}.
	Auth *Auth `yaml:"auth" secret:"block"`
	// Headers are sent with every request, like {Accept-Version: "2"}.
	// The value of a header whose name says auth, key, token, secret,
	// pass, cookie, signature, session or credential is a secret.
	Headers map[string]string `yaml:"headers" secret:"header"`
	// Timeout bounds one request, answer included. Default 30s.
	Timeout config.Duration `yaml:"timeout"`
	// RateLimit caps the requests tandem sends to the system, like 10/s,
	// 600/m or 100/10s; "off" (the default) sends as fast as the system
	// answers, still slowing down when it answers 429.
	RateLimit string `yaml:"rate_limit"`
	// Burst is how many requests may go at once after a quiet spell.
	// Default: one second's worth of rate_limit, at least 1.
	Burst int `yaml:"burst"`
	// Retries is how many times a request that failed with a 5xx, a
	// timeout or a broken connection is sent again, with backoff, before
	// the call fails (delivery then retries it later). Default 4.
	Retries int `yaml:"retries"`
	// MaxWait bounds how long one call waits out 429 answers and
	// Retry-After before it fails for a later retry. Default 2m.
	MaxWait config.Duration `yaml:"max_wait"`
	// Overlap is how far back each poll for changes looks again, for
	// records whose updated-at the system set a little in the past.
	// Records seen already are skipped. Default 1s.
	Overlap config.Duration `yaml:"overlap"`
}

// Auth is one way of signing in; set one of its keys.
type Auth struct {
	// Bearer sends Authorization: Bearer TOKEN.
	Bearer string `yaml:"bearer" secret:"value"`
	// Basic sends HTTP basic authentication.
	Basic *BasicAuth `yaml:"basic" secret:"block"`
	// Header sends an API key in a header of its own, like X-API-Key.
	Header *HeaderAuth `yaml:"header" secret:"block"`
}

// BasicAuth is a user name and password.
type BasicAuth struct {
	User     string `yaml:"user"`
	Password string `yaml:"password" secret:"value"`
}

// HeaderAuth is an API key sent in a named header.
type HeaderAuth struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value" secret:"value"`
}

// Webhook verifies and reads notifications a system pushes.
type Webhook struct {
	// Secret is the HMAC-SHA256 key shared with the system; ${ENV_VAR}.
	Secret string `yaml:"secret" secret:"value"`
	// Header carries the signature. Default X-Tandem-Signature.
	Header string `yaml:"header"`
	// Encoding of the signature: hex (default) or base64.
	Encoding string `yaml:"encoding"`
	// Prefix before the signature in the header, like sha256=.
	Prefix string `yaml:"prefix"`
	// Timestamp is a header with the signing time (Unix seconds); when
	// set, the signed text is TIMESTAMP.BODY and old notifications are refused.
	Timestamp string `yaml:"timestamp"`
	// Tolerance is how old a signed timestamp may be. Default 5m.
	Tolerance config.Duration `yaml:"tolerance"`
	// Events is where the body holds the list of notifications; empty
	// when the body is one notification or a list of them.
	Events string `yaml:"events"`
	// Resource is the field of a notification naming the table it is
	// about. Needed when more than one table is mapped.
	Resource string `yaml:"resource"`
	// ID is the field of a notification holding the record's id. Default id.
	ID string `yaml:"id"`
}

// ParseRate reads a rate like 20/s, 600/m, 5000/h or 100/10s as requests
// a second. "off" and "" are 0 (no limit).
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return 0, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("%q is not a rate", s)
	}
	count, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
	if err != nil || count <= 0 {
		return 0, fmt.Errorf("%q is not a rate: %q is not a positive number", s, n)
	}
	per = strings.TrimSpace(per)
	switch per {
	case "s":
		per = "1s"
	case "m":
		per = "1m"
	case "h":
		per = "1h"
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a rate: %q is not a unit of time", s, per)
	}
	return count / d.Seconds(), nil
}

// CheckBaseURL checks that the dsn of the system c checks, when set, is
// an http or https URL.
func CheckBaseURL(c *config.Check) {
	s := c.System
	if s.DSN == "" {
		return
	}
	u, err := url.Parse(s.DSN)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Add(fmt.Sprintf("%q is not an http or https URL", secret.DSN(s.DSN)), config.DSNHint(s.Type), "dsn")
	}
}

// CheckAPI checks the settings every API type shares; c is at the block.
func CheckAPI(c *config.Check, a API) {
	if _, err := ParseRate(a.RateLimit); err != nil {
		c.Add(err.Error(), "write like 20/s, 600/m or 100/10s, or off", "rate_limit")
	}
	for _, d := range []struct {
		key string
		v   config.Duration
	}{{"timeout", a.Timeout}, {"max_wait", a.MaxWait}, {"overlap", a.Overlap}} {
		if d.v < 0 {
			c.Add(fmt.Sprintf("%s is negative", d.v), "write a duration like 30s, or leave it out for the default", d.key)
		}
	}
	if a.Burst < 0 {
		c.Add(fmt.Sprintf("%d is negative", a.Burst), "write how many requests may go at once, like 5", "burst")
	}
	if a.Retries < 0 {
		c.Add(fmt.Sprintf("%d is negative", a.Retries), "write how many times to resend a failed request; the default is 4", "retries")
	}
	if a.Auth != nil {
		checkAuth(c.Under("auth"), a.Auth)
	}
}

func checkAuth(c *config.Check, au *Auth) {
	n := 0
	if au.Bearer != "" {
		n++
	}
	if au.Basic != nil {
		n++
		if au.Basic.User == "" {
			c.Add("missing", "write the user name; secrets as ${ENV_VAR}", "basic", "user")
		}
	}
	if au.Header != nil {
		n++
		if au.Header.Name == "" {
			c.Add("missing", "name the header that carries the key, like X-API-Key", "header", "name")
		}
		if au.Header.Value == "" {
			c.Add("missing", "write the key as ${ENV_VAR}", "header", "value")
		}
	}
	if n != 1 {
		c.Add(fmt.Sprintf("sets %d ways of signing in", n), "set exactly one of bearer, basic or header")
	}
}

// CheckWebhook checks a webhook block; c is at the block.
func CheckWebhook(c *config.Check, w *Webhook) {
	if w == nil {
		return
	}
	if w.Secret == "" {
		c.Add("missing: tandem refuses notifications it cannot verify", "write the shared signing secret as ${ENV_VAR}", "secret")
	}
	if w.Encoding != "" && w.Encoding != "hex" && w.Encoding != "base64" {
		c.Add(fmt.Sprintf("%q is not an encoding", w.Encoding), "write hex or base64", "encoding")
	}
	if w.Tolerance < 0 {
		c.Add(fmt.Sprintf("%s is negative", w.Tolerance), "write a duration like 5m (the default)", "tolerance")
	}
	if c.Config.Listen == "" {
		c.Add("needs the hub to listen for notifications", "add listen: 127.0.0.1:7070 (or another address) at the top of the file")
	}
}
