// Package torture is tandem's harness of real systems under faults. It
// builds a set of real systems on loopback (PostgreSQL, MariaDB, SQLite,
// json-server, a queue application, the CRM simulator), each with its own
// table and field names and its own key scheme, writes a tandem.yaml for
// them, and runs the tandem binary as a user would. Concurrent writers
// play the systems' own users: they create, update and delete accounts and
// the contacts that refer to them, each write numbered and recorded with
// the state it left and when. Meanwhile faults come on a schedule: the hub
// is killed with SIGKILL, TCP proxies cut or slow the databases, an HTTP
// proxy makes the API answer 429, 500, time out or lose its answers, keys
// are reused, and the data directory is lost.
//
// When the writers stop and the faults heal, the harness waits for the
// systems to converge and then counts, system by system and record by
// record: records lost, duplicated, resurrected after a delete, orphaned
// contacts, wrong references, fields that differ, states no user wrote,
// changes still moving, writers' own errors, and what tandem holds back
// (dead letters, held changes). Any non-zero count fails the run, with
// the failing records listed.
//
// The oracle is the writers' ledger. Each record has one writer at a
// time, which sees only what the system it writes to shows; a write that
// ended before another write of the same record began must not win over
// it (record-level last writer wins), and a deleted record stays deleted.
//
// cmd/tandem's torture command is the only caller.
package torture
