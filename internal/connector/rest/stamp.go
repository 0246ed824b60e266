package rest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Stamp is a record's updated-at or version as the system wrote it, with
// a number that orders stamps of one feed.
type Stamp struct {
	Raw   string `json:"raw"`
	Order int64  `json:"order"`
	// Time is true when Order is a time in Unix nanoseconds.
	Time bool `json:"time,omitempty"`
}

var stampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000-0700", // Salesforce
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	time.RFC1123,
}

// ParseStamp reads an updated-at or version: a time in the usual layouts,
// epoch seconds or milliseconds, or a plain version number.
func ParseStamp(v any) (Stamp, error) {
	raw := Text(v)
	if raw == "" {
		return Stamp{}, fmt.Errorf("no updated value")
	}
	s := Stamp{Raw: raw}
	if n, err := strconv.ParseFloat(raw, 64); err == nil && !strings.ContainsAny(raw, "-:T") {
		i, ierr := strconv.ParseInt(raw, 10, 64)
		switch {
		case n >= 1e11 && n < 1e14 && ierr == nil: // epoch milliseconds
			s.Order, s.Time = i*int64(time.Millisecond), true
		case n >= 1e11 && n < 1e14:
			s.Order, s.Time = int64(n*1e6), true
		case n >= 1e9 && n < 1e11 && ierr == nil: // epoch seconds
			s.Order, s.Time = i*int64(time.Second), true
		case n >= 1e9 && n < 1e11:
			s.Order, s.Time = int64(n*1e9), true
		default: // a version
			s.Order = int64(n)
		}
		return s, nil
	}
	for _, l := range stampLayouts {
		if t, err := time.Parse(l, raw); err == nil {
			s.Order, s.Time = t.UnixNano(), true
			return s, nil
		}
	}
	return Stamp{}, fmt.Errorf("%q is not a time or a version", raw)
}

// Back returns the stamp moved back by d (times) or kept (versions).
func (s Stamp) Back(d time.Duration) Stamp {
	if !s.Time || d <= 0 {
		return s
	}
	t := time.Unix(0, s.Order-int64(d)).UTC()
	return Stamp{Raw: t.Format(time.RFC3339Nano), Order: t.UnixNano(), Time: true}
}

// Format writes the stamp for a query parameter: raw, rfc3339, unix or unix_ms.
// A stamp moved back (Back) has no raw form of the system's own, so raw
// falls back to a format like the system's.
func (s Stamp) Format(format string, like string) string {
	if !s.Time {
		return strconv.FormatInt(s.Order, 10)
	}
	t := time.Unix(0, s.Order).UTC()
	switch format {
	case "rfc3339":
		return t.Format(time.RFC3339Nano)
	case "unix":
		return strconv.FormatInt(t.Unix(), 10)
	case "unix_ms":
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	// raw: the same shape as the system's own values.
	if _, err := strconv.ParseFloat(like, 64); err == nil {
		if len(strings.Split(like, ".")[0]) >= 12 {
			return strconv.FormatInt(t.UnixMilli(), 10)
		}
		return strconv.FormatInt(t.Unix(), 10)
	}
	if strings.HasSuffix(like, "+0000") {
		return t.Format("2006-01-02T15:04:05.000-0700")
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

// TimeStamp is a stamp of a time.
func TimeStamp(t time.Time) Stamp {
	t = t.UTC()
	return Stamp{Raw: t.Format(time.RFC3339Nano), Order: t.UnixNano(), Time: true}
}
