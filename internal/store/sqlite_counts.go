package store

func (t *sqlTx) Cursor(system, name string) (string, bool, error) {
	var v string
	row, err := t.queryRow(`SELECT value FROM cursors WHERE system=? AND name=?`, system, name)
	ok, err := one(row, err, &v)
	return v, ok, err
}

func (t *sqlTx) PutCursor(system, name, value string) error {
	_, err := t.exec(`INSERT INTO cursors(system, name, value) VALUES(?,?,?)
		ON CONFLICT(system, name) DO UPDATE SET value=excluded.value`, system, name, value)
	return err
}

func (t *sqlTx) AddCount(c Count) error {
	_, err := t.exec(`INSERT INTO counters(system, entity, captured, dropped, delivered, dead, last_capture, last_delivery)
		VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(system, entity) DO UPDATE SET
		captured=captured+excluded.captured, dropped=dropped+excluded.dropped,
		delivered=delivered+excluded.delivered, dead=dead+excluded.dead,
		last_capture=MAX(last_capture, excluded.last_capture), last_delivery=MAX(last_delivery, excluded.last_delivery)`,
		c.System, c.Entity, c.Captured, c.Dropped, c.Delivered, c.Dead, nanos(c.LastCapture), nanos(c.LastDelivery))
	return err
}

func (t *sqlTx) Counts() ([]Count, error) {
	rows, err := t.query(`SELECT system, entity, captured, dropped, delivered, dead, last_capture, last_delivery
		FROM counters ORDER BY system, entity`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		var lc, ld int64
		if err := rows.Scan(&c.System, &c.Entity, &c.Captured, &c.Dropped, &c.Delivered, &c.Dead, &lc, &ld); err != nil {
			return nil, err
		}
		c.LastCapture, c.LastDelivery = fromNanos(lc), fromNanos(ld)
		out = append(out, c)
	}
	return out, rows.Err()
}
