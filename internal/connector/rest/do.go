package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tandemhub/tandem/internal/backoff"
)

// Do sends r, waiting for the limiter, waiting out refusals and retrying
// failures as the package doc says. An answer of 400 or more comes back
// with an *APIError; one that could not be had with a transport error,
// or an *Unsure when the request may have taken effect.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u, err := c.URL(r.Path, r.Query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.system, err)
	}
	body, err := c.encode(r.Body)
	if err != nil {
		return nil, err
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
			if err := c.retryFailed(ctx, r, u, err, failures); err != nil {
				return nil, err
			}
			continue
		}
		ae := c.answerError(r, u, resp)
		if resp.Status == http.StatusTooManyRequests || (ae != nil && ae.RateLimited) {
			if err := c.refused(r, u, resp, ae, giveUp); err != nil {
				return resp, err
			}
			continue // refused, not done: safe to send again
		}
		c.heed(resp.Header)
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

// encode is what a request with body b sends: b itself if it is bytes,
// else b in JSON (nil: nothing).
func (c *Client) encode(b any) ([]byte, error) {
	switch b := b.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", c.system, err)
	}
	return body, nil
}

// retryFailed waits before r is sent again after its try number
// failures could get no answer (err). It returns the error that ends the
// request instead: err once the retries are used up, or ctx's.
func (c *Client) retryFailed(ctx context.Context, r Request, u *url.URL, err error, failures int) error {
	if failures > c.retries {
		return fmt.Errorf("%s %s %s failed %d times: %w", c.system, r.Method, u.Path, failures, err)
	}
	c.log.Debug("request failed; retrying", "method", r.Method, "path", u.Path, "err", err, "failures", failures)
	return sleep(ctx, c.delay(failures, 0))
}

// answerError decodes an answer of 400 or more into an *APIError that
// names the request, with the client's own credentials masked in what
// the system said; nil for any other answer.
func (c *Client) answerError(r Request, u *url.URL, resp *Response) *APIError {
	if resp.Status < 400 {
		return nil
	}
	ae := c.decode(resp.Status, resp.Body)
	if ae == nil {
		ae = &APIError{Status: resp.Status}
	}
	ae.System, ae.Method, ae.Path, ae.Status = c.system, r.Method, u.Path, resp.Status
	ae.Code, ae.Message = c.redact.String(ae.Code), c.redact.String(ae.Message)
	return ae
}

// refused slows every request of the system down after an answer that
// refused r for going too fast (ae). It returns the error that ends r
// when the wait the system asks for runs past giveUp, and nil when r is
// to be sent again.
func (c *Client) refused(r Request, u *url.URL, resp *Response, ae *APIError, giveUp time.Time) error {
	wait := RetryAfter(resp.Header, time.Now())
	if wait <= 0 {
		wait = time.Second
	}
	c.lim.Refused(wait)
	if time.Now().Add(wait).After(giveUp) {
		return fmt.Errorf("%s kept refusing requests for %s (rate limit): %w", c.system, c.maxWait, ae)
	}
	c.log.Debug("rate limited; waiting", "method", r.Method, "path", u.Path, "wait", wait)
	return nil
}

// heed paces the system's requests by what an answer's headers say of
// its rate limit: none left until a reset, or the rate it allows.
func (c *Client) heed(h http.Header) {
	if until, ok := ResetTime(h, time.Now()); ok {
		c.lim.Paused(until)
	}
	if p := PolicyRate(h); p > 0 {
		c.lim.Policy(p)
	}
}

// delay is the wait before retry number n: exponential with full jitter,
// at least the server's Retry-After.
func (c *Client) delay(n int, after time.Duration) time.Duration {
	d := backoff.Policy{Base: c.backoff, Max: c.backoff << 6, Jitter: true}.Delay(n)
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
