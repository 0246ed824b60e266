// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL or MySQL/MariaDB database, or a SQLite file, each with a
// random name and dropped when the test ends; the RabbitMQ and NATS
// brokers; the json-server binary; and small local helpers: a TCP proxy a
// test can cut to stage a network outage, an HTTP server with a fixed
// answer, self-signed certificates.
//
// Servers are named by environment variables (TANDEM_TEST_POSTGRES,
// TANDEM_TEST_MYSQL, TANDEM_TEST_RABBITMQ, TANDEM_TEST_NATS) that default
// to the loopback services. A test that cannot reach its server (or find
// json-server) is skipped, or fails when CI is set; either way the
// message says how to start or install it. Only tests import this
// package.
package testenv
