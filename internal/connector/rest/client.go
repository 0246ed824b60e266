package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
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
	API  config.API
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
	perSecond, err := config.ParseRate(o.API.RateLimit)
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

// Request is one API call.
type Request struct {
	Method string
	// Path is relative to the base URL (a leading / is joined to the
	// base path), or an absolute URL on the same host (a next-page link).
	Path  string
	Query url.Values
	// Body is encoded as JSON; a []byte is sent as it is.
	Body any
	// Idempotent marks a POST or PATCH that may be sent again after an
	// unknown outcome. GET, HEAD, PUT and DELETE always may.
	Idempotent bool
	Header     http.Header
	// NotAfter, when set, is the latest time the request may be sent
	// (first or again): what the caller checked before it may no longer
	// hold after a wait. Later, Do returns ErrLate without sending.
	NotAfter time.Time
	// Paid says the caller took this request's limiter token already
	// (Limiter.Take): its first try is sent without waiting.
	Paid bool
}

// ErrLate is what Do returns, without sending, for a request that could
// not be sent by its NotAfter time.
var ErrLate = errors.New("the request could not be sent in time")

func (r *Request) repeatable() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Idempotent
}

// Response is an answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Resent says an earlier try of the request may have arrived and
	// been done (it timed out, or the server failed after taking it):
	// the answer may be to a request already carried out once.
	Resent bool
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

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

// Do sends r, waiting for the limiter, waiting out refusals and retrying
// failures as the package doc says. An answer of 400 or more comes back
// with an *APIError; one that could not be had with a transport error,
// or an *Unsure when the request may have taken effect.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u, err := c.URL(r.Path, r.Query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.system, err)
	}
	var body []byte
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		if body, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", c.system, err)
		}
	}
	giveUp := time.Now().Add(c.maxWait)
	failures := 0
	resent := false
	for paid := r.Paid; ; paid = false {
		if !paid {
			if err := c.lim.Wait(ctx); err != nil {
				return nil, err
			}
		}
		if !r.NotAfter.IsZero() && time.Now().After(r.NotAfter) {
			return nil, fmt.Errorf("%s %s %s: %w", c.system, r.Method, u.Path, ErrLate)
		}
		resp, err := c.send(ctx, r, u, body)
		if resp != nil {
			resp.Resent = resent
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !r.repeatable() && mayHaveArrived(err) {
				return nil, &Unsure{Err: fmt.Errorf("%s %s %s: %w", c.system, r.Method, u.Path, err)}
			}
			resent = resent || mayHaveArrived(err)
			failures++
			if failures > c.retries {
				return nil, fmt.Errorf("%s %s %s failed %d times: %w", c.system, r.Method, u.Path, failures, err)
			}
			c.log.Debug("request failed; retrying", "method", r.Method, "path", u.Path, "err", err, "failures", failures)
			if err := sleep(ctx, c.delay(failures, 0)); err != nil {
				return nil, err
			}
			continue
		}
		var ae *APIError
		if resp.Status >= 400 {
			ae = c.decode(resp.Status, resp.Body)
			if ae == nil {
				ae = &APIError{Status: resp.Status}
			}
			ae.System, ae.Method, ae.Path, ae.Status = c.system, r.Method, u.Path, resp.Status
			ae.Code, ae.Message = c.redact.String(ae.Code), c.redact.String(ae.Message)
		}
		if resp.Status == http.StatusTooManyRequests || (ae != nil && ae.RateLimited) {
			wait := RetryAfter(resp.Header, time.Now())
			if wait <= 0 {
				wait = time.Second
			}
			c.lim.Refused(wait)
			if time.Now().Add(wait).After(giveUp) {
				return resp, fmt.Errorf("%s kept refusing requests for %s (rate limit): %w", c.system, c.maxWait, ae)
			}
			c.log.Debug("rate limited; waiting", "method", r.Method, "path", u.Path, "wait", wait)
			continue // refused, not done: safe to send again
		}
		if until, ok := ResetTime(resp.Header, time.Now()); ok {
			c.lim.Paused(until)
		}
		if p := PolicyRate(resp.Header); p > 0 {
			c.lim.Policy(p)
		}
		if resp.Status >= 500 || resp.Status == http.StatusRequestTimeout {
			if !r.repeatable() {
				return resp, &Unsure{Err: ae}
			}
			resent = true
			failures++
			if failures > c.retries {
				return resp, ae
			}
			c.log.Debug("server error; retrying", "method", r.Method, "path", u.Path, "status", resp.Status, "failures", failures)
			if err := sleep(ctx, c.delay(failures, RetryAfter(resp.Header, time.Now()))); err != nil {
				return nil, err
			}
			continue
		}
		c.lim.Accepted()
		if ae != nil {
			return resp, ae
		}
		return resp, nil
	}
}

// delay is the wait before retry number n: exponential with full jitter,
// at least the server's Retry-After.
func (c *Client) delay(n int, after time.Duration) time.Duration {
	d := c.backoff << min(n-1, 6)
	d = d/2 + rand.N(d/2+1)
	return max(d, after)
}

func (c *Client) send(ctx context.Context, r Request, u *url.URL, body []byte) (*Response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, r.Method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// mayHaveArrived reports whether a failed request may have reached the
// server: anything but a refused or unresolvable connection.
func mayHaveArrived(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dns *net.DNSError
	return !errors.As(err, &dns)
}

// RetryAfter reads how long the system asks to wait: Retry-After in
// seconds or as a date, or a rate-limit reset header, or 0.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(now))
		}
	}
	if until, ok := ResetTime(h, now); ok {
		return max(0, until.Sub(now))
	}
	if v := h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"); v != "" && h.Get("X-HubSpot-RateLimit-Remaining") == "0" {
		if ms, err := strconv.Atoi(v); err == nil {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 0
}

// ResetTime reads, from the common rate-limit headers, when the system
// will take requests again if it says none are left now.
func ResetTime(h http.Header, now time.Time) (time.Time, bool) {
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-", "X-Rate-Limit-"} {
		rem := h.Get(prefix + "Remaining")
		if rem == "" {
			continue
		}
		if n, err := strconv.Atoi(rem); err != nil || n > 0 {
			return time.Time{}, false
		}
		reset := h.Get(prefix + "Reset")
		v, err := strconv.ParseFloat(reset, 64)
		if err != nil || v < 0 {
			return now.Add(time.Second), true
		}
		if v > 1e9 { // an epoch time
			return time.Unix(0, int64(v*1e9)), true
		}
		return now.Add(time.Duration(v * float64(time.Second))), true
	}
	if h.Get("X-HubSpot-RateLimit-Remaining") == "0" {
		if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil {
			return now.Add(time.Duration(ms) * time.Millisecond), true
		}
	}
	return time.Time{}, false
}

// PolicyRate reads the rate a system says it allows, in requests a
// second, from RateLimit-Policy ("100;w=10") or HubSpot's
// X-HubSpot-RateLimit-Max and -Interval-Milliseconds; 0 when it says none.
func PolicyRate(h http.Header) float64 {
	if v := h.Get("RateLimit-Policy"); v != "" {
		q, rest, _ := strings.Cut(strings.Split(v, ",")[0], ";")
		n, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		w := 1.0
		for _, p := range strings.Split(rest, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "w" {
				if x, err := strconv.ParseFloat(val, 64); err == nil && x > 0 {
					w = x
				}
			}
		}
		if err == nil && n > 0 {
			return n / w
		}
	}
	maxN, err1 := strconv.ParseFloat(h.Get("X-HubSpot-RateLimit-Max"), 64)
	ms, err2 := strconv.ParseFloat(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"), 64)
	if err1 == nil && err2 == nil && maxN > 0 && ms > 0 {
		return maxN / (ms / 1000)
	}
	return 0
}

// DecodeError reads the common shapes of JSON error answers:
// {"message": …}, {"error": "…"}, {"error": {"message", "code", "field"}},
// {"errors": [{"message", "field"|"path"|"fields"}]} and [{"message", "errorCode", "fields"}].
func DecodeError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	if len(body) == 0 {
		return e
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&v) != nil {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
		return e
	}
	readErrorInto(e, v)
	return e
}

// ReadError fills e from a decoded error object (a per-record result of
// a batch call).
func ReadError(e *APIError, v any) { readErrorInto(e, v) }

func readErrorInto(e *APIError, v any) {
	switch x := v.(type) {
	case []any:
		for _, it := range x {
			readErrorInto(e, it)
		}
	case map[string]any:
		if s, ok := x["message"].(string); ok && e.Message == "" {
			e.Message = s
		}
		for _, k := range []string{"code", "errorCode", "statusCode", "category"} {
			if s, ok := x[k].(string); ok && e.Code == "" {
				e.Code = s
			}
		}
		for _, k := range []string{"field", "path", "propertyName"} {
			if s, ok := x[k].(string); ok && s != "" {
				e.Fields = appendNew(e.Fields, s)
			}
		}
		for _, k := range []string{"fields", "propertyName"} {
			if arr, ok := x[k].([]any); ok {
				for _, f := range arr {
					if s, ok := f.(string); ok {
						e.Fields = appendNew(e.Fields, s)
					}
				}
			}
		}
		switch y := x["error"].(type) {
		case string:
			if e.Message == "" {
				e.Message = y
			}
		case map[string]any:
			readErrorInto(e, y)
		}
		if errs, ok := x["errors"].([]any); ok {
			readErrorInto(e, errs)
		}
		if ctx, ok := x["context"].(map[string]any); ok {
			readErrorInto(e, ctx)
		}
		for _, k := range []string{"detail", "title"} {
			if s, ok := x[k].(string); ok && e.Message == "" {
				e.Message = s
			}
		}
	}
}

func appendNew(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}
