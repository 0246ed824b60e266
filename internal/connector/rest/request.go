package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

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
