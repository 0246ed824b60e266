// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL or MySQL/MariaDB database, or a SQLite file, each with a
// random name and dropped when the test ends; the RabbitMQ and NATS
// brokers; and a TCP proxy a test can cut to stage a network outage.
//
// Servers are named by environment variables (TANDEM_TEST_POSTGRES,
// TANDEM_TEST_MYSQL, TANDEM_TEST_RABBITMQ, TANDEM_TEST_NATS) that default
// to the loopback services. A test that cannot reach its server is
// skipped, or fails when CI is set; either way the message says how to
// start the server. Only tests import this package.
package testenv
