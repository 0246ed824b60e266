// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL or MySQL/MariaDB database, or a SQLite file, each with a
// random name and dropped when the test ends.
//
// Servers are named by environment variables (TANDEM_TEST_POSTGRES,
// TANDEM_TEST_MYSQL) that default to the loopback services. A test that
// cannot reach its server is skipped, or fails when CI is set; either
// way the message says how to start the server. Only tests import this
// package.
package testenv
