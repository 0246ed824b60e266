package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// sentKept is how many writes of one delivery MarkSent remembers.
const sentKept = 3

// sentRow is one element of outbound.sent.
type sentRow struct {
	At     int64           `json:"at"`
	Fields json.RawMessage `json:"fields"`
	Stamp  int64           `json:"stamp,omitempty"`
}

func (t *sqlTx) MarkSent(system, entity, gid string, fields record.Fields, at time.Time) error {
	rows, err := t.sentRows(system, entity, gid)
	if err != nil {
		return err
	}
	f, err := encode(fields)
	if err != nil {
		return fmt.Errorf("encode the fields sent of %s %s to %s: %w", entity, gid, system, err)
	}
	rows = append(rows, sentRow{At: nanos(at), Fields: f})
	if len(rows) > sentKept {
		rows = rows[len(rows)-sentKept:]
	}
	return t.putSent(system, entity, gid, rows)
}

func (t *sqlTx) putSent(system, entity, gid string, rows []sentRow) error {
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encode the fields sent of %s %s to %s: %w", entity, gid, system, err)
	}
	_, err = t.exec(`UPDATE outbound SET sent=? WHERE system=? AND entity=? AND gid=?`, b, system, entity, gid)
	return err
}

func (t *sqlTx) MarkAnswered(system, entity, gid string, stamp int64) error {
	rows, err := t.sentRows(system, entity, gid)
	if err != nil || len(rows) == 0 {
		return err
	}
	rows[len(rows)-1].Stamp = stamp
	return t.putSent(system, entity, gid, rows)
}

func (t *sqlTx) Sent(system, entity, gid string) ([]Sent, error) {
	rows, err := t.sentRows(system, entity, gid)
	if err != nil {
		return nil, err
	}
	out := make([]Sent, 0, len(rows))
	for _, r := range rows {
		f, err := decodeFields(r.Fields)
		if err != nil {
			return nil, err
		}
		out = append(out, Sent{At: time.Unix(0, r.At), Fields: f, Stamp: r.Stamp})
	}
	return out, nil
}

func (t *sqlTx) sentRows(system, entity, gid string) ([]sentRow, error) {
	if err := t.flushOutbound(); err != nil {
		return nil, err
	}
	var b []byte
	row, err := t.queryRow(`SELECT sent FROM outbound WHERE system=? AND entity=? AND gid=?`, system, entity, gid)
	if err != nil {
		return nil, err
	}
	err = row.Scan(&b)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(b) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rows []sentRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("decode the fields sent of %s %s to %s: %w", entity, gid, system, err)
	}
	return rows, nil
}

func (t *sqlTx) ClearSent(system, entity, gid string) error {
	if err := t.flushOutbound(); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE outbound SET sent=NULL WHERE system=? AND entity=? AND gid=? AND sent IS NOT NULL`, system, entity, gid)
	return err
}
