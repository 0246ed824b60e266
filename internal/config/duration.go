package config

import (
	"strings"
	"time"
)

// UnmarshalText parses a duration written like 200ms, 5s or 1m30s.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String formats the duration like 200ms.
func (d Duration) String() string { return time.Duration(d).String() }
