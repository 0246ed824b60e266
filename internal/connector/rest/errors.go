package rest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tandemhub/tandem/internal/connector"
)

// APIError is an answer of 400 or more, decoded.
type APIError struct {
	System string
	Method string
	Path   string
	Status int
	// Code is the system's own error code (REQUIRED_FIELD_MISSING,
	// VALIDATION_ERROR, invalid_field), when it gives one.
	Code string
	// Message is the system's own words.
	Message string
	// Fields are the fields the system blames.
	Fields []string
	// RateLimited marks a refusal for going too fast that does not use
	// status 429 (Salesforce's REQUEST_LIMIT_EXCEEDED).
	RateLimited bool
	// Transient marks an error that may pass (a lock, a timeout inside
	// the system) though its status is 4xx.
	Transient bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s answered %d", e.System, e.Method, e.Path, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields: %s)", strings.Join(e.Fields, ", "))
	}
	return b.String()
}

// Permanent reports whether sending the request again cannot help: a 4xx
// other than 408, 409, 423, 425 and 429, not marked transient.
func (e *APIError) Permanent() bool {
	if e.Transient || e.RateLimited {
		return false
	}
	switch e.Status {
	case 408, 409, 423, 425, 429:
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// Field is the first field blamed, or "".
func (e *APIError) Field() string {
	if len(e.Fields) > 0 {
		return e.Fields[0]
	}
	return ""
}

// Unsure means a request that is not safe to repeat may or may not have
// taken effect: it timed out, the connection broke, or the system
// answered 5xx after receiving it.
type Unsure struct{ Err error }

func (u *Unsure) Error() string {
	return "the outcome is unknown (" + u.Err.Error() + ")"
}

func (u *Unsure) Unwrap() error { return u.Err }

// IsUnsure reports whether err is an *Unsure.
func IsUnsure(err error) bool {
	var u *Unsure
	return errors.As(err, &u)
}

// RecordError turns the error of one record's write into what delivery
// expects: a *connector.Permanent naming the field for answers that
// retrying cannot fix, err itself otherwise.
func RecordError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Permanent() {
		return &connector.Permanent{Err: err, Field: ae.Field()}
	}
	return err
}

// NotFound reports whether err is an answer of 404 or 410.
func NotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == 404 || ae.Status == 410)
}
