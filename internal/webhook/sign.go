package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scheme is how a sender signs its requests.
type Scheme struct {
	Secret []byte
	// Header carries the signature.
	Header string
	// Encoding of the signature: hex or base64.
	Encoding string
	// Prefix comes before the signature in the header, like sha256=.
	Prefix string
	// Timestamp names a header with the signing time; when set the
	// signed text is TIMESTAMP.BODY and stale requests are refused.
	Timestamp string
	// Millis says the timestamp is in milliseconds rather than seconds.
	Millis bool
	// Tolerance is how old a timestamp may be. Default 5m.
	Tolerance time.Duration
	// Signed builds the signed text; nil signs as Timestamp says.
	Signed func(r *http.Request, body []byte, ts string) []byte
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// ErrSignature is returned for a request whose signature does not verify.
var ErrSignature = errors.New("bad signature")

// HubSpotV3 is HubSpot's v3 request signature: base64 of HMAC-SHA256 over
// method, full URI, body and the millisecond timestamp, keyed with the
// app's client secret.
func HubSpotV3(secret string) Scheme {
	return Scheme{Secret: []byte(secret), Header: "X-HubSpot-Signature-v3", Encoding: "base64",
		Timestamp: "X-HubSpot-Request-Timestamp", Millis: true,
		Signed: func(r *http.Request, body []byte, ts string) []byte {
			return []byte(r.Method + RequestURI(r) + string(body) + ts)
		}}
}

// RequestURI is the URI a sender called: scheme, host, path and query.
func RequestURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

func (s Scheme) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Scheme) text(r *http.Request, body []byte, ts string) []byte {
	if s.Signed != nil {
		return s.Signed(r, body, ts)
	}
	if s.Timestamp != "" {
		return append([]byte(ts+"."), body...)
	}
	return body
}

// sum is the HMAC-SHA256 of text with the secret.
func (s Scheme) sum(text []byte) []byte {
	m := hmac.New(sha256.New, s.Secret)
	m.Write(text)
	return m.Sum(nil)
}

func (s Scheme) mac(text []byte) string {
	sum := s.sum(text)
	if s.Encoding == "base64" {
		return base64.StdEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

// Sign sets the signature (and timestamp) headers of r for body, as a
// sender would. r's URL and method must be final.
func (s Scheme) Sign(r *http.Request, body []byte) {
	ts := ""
	if s.Timestamp != "" {
		if s.Millis {
			ts = strconv.FormatInt(s.now().UnixMilli(), 10)
		} else {
			ts = strconv.FormatInt(s.now().Unix(), 10)
		}
		r.Header.Set(s.Timestamp, ts)
	}
	r.Header.Set(s.Header, s.Prefix+s.mac(s.text(r, body, ts)))
}

// Verify checks the signature of r over body.
func (s Scheme) Verify(r *http.Request, body []byte) error {
	if len(s.Secret) == 0 {
		return fmt.Errorf("%w: no secret is configured", ErrSignature)
	}
	got := r.Header.Get(s.Header)
	if got == "" {
		return fmt.Errorf("%w: no %s header", ErrSignature, s.Header)
	}
	got = strings.TrimPrefix(got, s.Prefix)
	ts := ""
	if s.Timestamp != "" {
		ts = r.Header.Get(s.Timestamp)
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s %q is not a time", ErrSignature, s.Timestamp, ts)
		}
		at := time.Unix(n, 0)
		if s.Millis {
			at = time.UnixMilli(n)
		}
		tol := s.Tolerance
		if tol <= 0 {
			tol = 5 * time.Minute
		}
		if d := s.now().Sub(at); d > tol || d < -tol {
			return fmt.Errorf("%w: signed %s ago, more than %s", ErrSignature, d.Round(time.Second), tol)
		}
	}
	sig, err := s.decode(got)
	if err != nil || !hmac.Equal(sig, s.sum(s.text(r, body, ts))) {
		return fmt.Errorf("%w: %s does not match", ErrSignature, s.Header)
	}
	return nil
}

// decode reads a signature as the scheme writes it: hex (either case) or
// standard base64.
func (s Scheme) decode(sig string) ([]byte, error) {
	if s.Encoding == "base64" {
		return base64.StdEncoding.DecodeString(sig)
	}
	return hex.DecodeString(sig)
}
