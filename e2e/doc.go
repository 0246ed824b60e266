// Package e2e holds end-to-end tests of the tandem binary. TestMain builds
// cmd/tandem once; each test makes its own PostgreSQL and MariaDB databases
// and a SQLite file (internal/testenv), creates the tables an application
// would own, writes a tandem.yaml, runs `tandem setup` and `tandem run` as
// child processes, edits the three systems through their own connections
// and checks the promises users rely on by reading every system back:
// records appear with each system's own keys, updates and deletes follow,
// references point at the right parent, a crash loses and duplicates
// nothing, bad records are parked and can be retried, `tandem check`
// explains mistakes and `tandem demo` ends in agreement.
//
// Run them with the loopback services up and CI set:
//
//	CI=true go test -race -count=1 ./e2e/
package e2e
