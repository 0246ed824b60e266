package store

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"github.com/tandemhub/tandem/internal/record"
)

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

func decodeFields(b []byte) (record.Fields, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var f record.Fields
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode stored fields: %w", err)
	}
	return record.NormalizeFields(f), nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func one[T any](row *sql.Row, err error, dst *T) (bool, error) {
	if err != nil {
		return false, err
	}
	if err := row.Scan(dst); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

var errReadOnly = errors.New("store: write in a read-only transaction")
