// Package sqldb is the engine shared by the SQL connectors (postgres,
// mysql, sqlite): capture through triggers and an outbox table, snapshots,
// fetches and batched writes. What differs between databases — quoting,
// placeholders, trigger DDL, upsert syntax, the echo marker, error codes —
// sits behind the small Dialect interface that each connector package
// implements; the Engine does the rest. Only the postgres, mysql and
// sqlite packages import it; the hub reaches an Engine through them.
//
// # Capture
//
// Setup creates two tables in the database, tandem_outbox (seq, tbl, k,
// op, at; indexed by tbl and k) and tandem_ids (entity, gid, k), and
// triggers on every mapped table that insert one outbox row — table name
// and key as text — per inserted, updated or deleted row. The outbox holds keys, not values:
// Changes reads up to max outbox rows in seq order, then reads the
// current rows of those keys (one query per table) and returns one change
// per key, an upsert with the configured columns or a delete when the row
// is gone. The key column is among those columns when a field maps it, so
// that the key travels with the record to the other systems. Several outbox rows of one key in a batch become one change,
// whose Version is the highest seq; changes are ordered by Version. A
// change of a row tandem created carries its global id (GID), joined from
// tandem_ids.
//
// An outbox row moves through three states: written by the application's
// transaction (invisible until it commits), read by Changes (as often as
// Changes is called), and deleted by Ack. Ack deletes exactly the seqs its
// batch read, never a range: sequence numbers are taken when a row is
// written but become visible when its transaction commits, so a lower seq
// can appear after a higher one was read, and a range delete would lose
// it. The hub calls Ack only once the batch is committed in its store;
// until then a crash re-reads the same rows, and since Changes reads
// current values, re-reading is harmless.
//
// # Echo
//
// Rows tandem writes must not come back as changes. Each dialect runs
// Apply's transaction with a marker its triggers test (a transaction-local
// setting in PostgreSQL, a session variable in MySQL, a control row in
// SQLite), so tandem's writes leave no outbox rows.
//
// # Apply
//
// Apply checks and converts every value first (a value that cannot fit its
// column is a *connector.Permanent error naming the field, before any
// I/O), then plans statements in one transaction: upserts of runs of
// writes that share their columns become one multi-row statement, as do
// deletes; a key seen twice starts a new statement so that writes of one
// key keep their order. Writes without a key are creates: their global
// ids are looked up in tandem_ids first (a create retried after a lost
// answer finds its row and updates it), the others insert — with the key
// the write carries in the key column (a field maps it), else the global
// id as key, or letting the database make the key and reading it back —
// and record (entity, gid, key) in tandem_ids in the same transaction. Constraint and data errors come back as
// *connector.Permanent so that delivery can split the batch and park the
// one bad record; anything else is a whole-call error to retry.
//
// An update or delete by key first looks for its row (see present): an
// update of a row the system's users deleted leaves it deleted, and an
// update of a row with an edit still in the outbox leaves their edit
// alone; both changes are on their way to tandem.
//
// # Locks
//
// Apply must never make the applications' own transactions fail, and a
// transaction fails (as a deadlock's victim, by a lock wait timeout)
// when it waits for a lock held by one that waits for it in turn. So
// tandem's write transaction never waits for a lock another transaction
// holds. It runs at READ COMMITTED: its searches lock no gaps (the
// applications' inserts never wait for it) and each statement reads the
// latest commits. It locks the rows it will update or delete with
// SELECT … FOR UPDATE SKIP LOCKED, which leaves out rows an application's
// transaction holds; those writes come back as per-record
// *connector.Busy errors, not applied, because that transaction may yet
// change the row, delete it or roll back, and delivery tries them again
// shortly. Its later statements write only rows it holds, its own new
// rows and tandem_ids. The outbox is read without locks, after the rows
// are locked, through an index on (tbl, k): an application's edit of a
// held row committed before the lock is seen there, and none can commit
// after it. Where a statement could still wait — a create into a gap an
// application's REPEATABLE READ transaction locked, a foreign key check
// on a parent row it holds — the dialect makes it fail at once (MariaDB)
// or after a few milliseconds (PostgreSQL's lock_timeout) instead; the
// whole call is then *connector.Busy. See each dialect's Write.
//
// Values are converted by the kind of their column, learned from the
// catalog when the Engine is made (see Kind, Encode, Decode), so that a
// record copied between any two SQL systems keeps its values.
package sqldb
