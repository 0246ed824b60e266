// Package mysql connects tandem to a MySQL or MariaDB database through the
// shared SQL engine in package sqldb, with go-sql-driver/mysql.
//
// Capture is three AFTER row triggers per table (insert, update, delete)
// that record the key in tandem_outbox. Tandem runs each write
// transaction on one connection with the session variable
// @tandem_origin = 1 and sets it back to NULL afterwards, also after a
// failure; the triggers do nothing while it is 1, so tandem's writes are
// never captured back. The application's sessions never set it.
//
// A write transaction is READ COMMITTED; it locks the rows it writes
// with FOR UPDATE SKIP LOCKED (MariaDB 10.6, MySQL 8; see sqldb's Locks),
// and on MariaDB each of its writes runs with SET STATEMENT
// innodb_lock_wait_timeout = 0, so it fails at once rather than wait for
// a lock an application's transaction holds.
//
// Sessions run with time_zone '+00:00' (TIMESTAMP columns read and write
// UTC), parseTime, client-side parameter interpolation (one round trip per
// statement instead of prepare, execute and close) and STRICT_ALL_TABLES
// added to sql_mode, so a bad value fails instead of being silently
// truncated.
//
// Only package registry imports it: the hub opens a system of type mysql
// through registry.Open. The package is a dialect of sqldb, whose
// Engine does the rest.
package mysql
