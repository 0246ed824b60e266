package rest

import (
	"net/http"
	"testing"
	"time"
)

func TestParseStamp(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
		time bool
	}{
		{"2024-01-02T03:04:05.678Z", time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC).UnixNano(), true},
		{"2024-01-02T03:04:05.678+0000", time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC).UnixNano(), true},
		{"1704164645678", time.UnixMilli(1704164645678).UnixNano(), true},
		{"1704164645", time.Unix(1704164645, 0).UnixNano(), true},
		{"42", 42, false},
	} {
		s, err := ParseStamp(c.in)
		if err != nil || s.Order != c.want || s.Time != c.time {
			t.Errorf("ParseStamp(%v) = %+v, %v; want order %d time %v", c.in, s, err, c.want, c.time)
		}
	}
	if _, err := ParseStamp("yesterday"); err == nil {
		t.Error("ParseStamp(yesterday) did not fail")
	}
}

func TestStampFormatLikeTheSystem(t *testing.T) {
	s, _ := ParseStamp("2024-01-02T03:04:05.678Z")
	for _, c := range []struct{ format, like, want string }{
		{"raw", "1704164645678", "1704164645678"},
		{"raw", "1704164645", "1704164645"},
		{"raw", "2024-01-01T00:00:00.000+0000", "2024-01-02T03:04:05.678+0000"},
		{"unix_ms", "", "1704164645678"},
		{"rfc3339", "", "2024-01-02T03:04:05.678Z"},
	} {
		if got := s.Format(c.format, c.like); got != c.want {
			t.Errorf("Format(%s, %s) = %s, want %s", c.format, c.like, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{http.Header{"Retry-After": {now.Add(5 * time.Second).UTC().Format(http.TimeFormat)}}, 5 * time.Second},
		{http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"2"}}, 2 * time.Second},
		{http.Header{"X-Hubspot-Ratelimit-Remaining": {"0"}, "X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}}, 10 * time.Second},
		{http.Header{}, 0},
	} {
		if got := RetryAfter(c.h, now); got != c.want {
			t.Errorf("RetryAfter(%v) = %s, want %s", c.h, got, c.want)
		}
	}
	if got := PolicyRate(http.Header{"Ratelimit-Policy": {"100;w=10"}}); got != 10 {
		t.Errorf("PolicyRate = %v, want 10", got)
	}
}

func TestDecodeError(t *testing.T) {
	for _, c := range []struct {
		name, body, code, msg, field string
	}{
		{"salesforce", `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`,
			"REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName"},
		{"hubspot", `{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR",
			"errors":[{"message":"Email address x is invalid","code":"INVALID_EMAIL","context":{"propertyName":["email"]}}]}`,
			"VALIDATION_ERROR", "Property values were not valid", "email"},
		{"nested", `{"error":{"code":"invalid_field","message":"bad","field":"email"}}`, "invalid_field", "bad", "email"},
		{"plain", `Service Unavailable`, "", "Service Unavailable", ""},
	} {
		e := DecodeError(400, []byte(c.body))
		if e.Code != c.code || e.Message != c.msg || e.Field() != c.field {
			t.Errorf("%s: code %q msg %q field %q", c.name, e.Code, e.Message, e.Field())
		}
	}
}

func TestLimiterSlowsDownAndRecovers(t *testing.T) {
	l := NewLimiter(0, 0)
	for range 10 {
		_ = l.Wait(t.Context())
	}
	l.Refused(10 * time.Millisecond)
	r, n := l.Rate()
	if n != 1 || r > 10 {
		t.Fatalf("after a refusal: rate %v, refusals %d", r, n)
	}
	time.Sleep(300 * time.Millisecond)
	l.Accepted()
	if r2, _ := l.Rate(); r2 <= r {
		t.Errorf("rate did not climb back: %v then %v", r, r2)
	}
}

func TestPullsCollapseRepeats(t *testing.T) {
	var p Pulls
	a := p.Add("contacts", "1")
	b := p.Add("contacts", "1")
	taken := p.Take(10)
	if len(taken) != 1 {
		t.Fatalf("took %d, want 1", len(taken))
	}
	c := p.Add("contacts", "1") // named again after the fetch started
	p.Done(taken)
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		default:
			t.Error("a notification before the fetch was not released")
		}
	}
	select {
	case <-c:
		t.Error("a notification after the fetch started was released by it")
	default:
	}
	if p.Len() != 1 {
		t.Errorf("%d waiting, want 1", p.Len())
	}
}
