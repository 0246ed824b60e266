package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/sqldb"
	"github.com/tandemhub/tandem/internal/secret"
)

// System is a MySQL or MariaDB database as a tandem source and destination.
type System struct {
	*sqldb.Engine
}

// New connects to sys.DSN (user:password@tcp(host:3306)/database), checks
// that the server answers and learns the columns of tables. The DSN must
// name a database; tandem's own tables live there. No error it returns
// holds the DSN's password.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	cfg, err := mysql.ParseDSN(sys.DSN)
	if err != nil {
		return nil, secret.New(secret.Passwords(sys.DSN)...).Error(fmt.Errorf("mysql system %q: dsn: %w", name, err))
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("mysql system %q: the dsn names no database; write it like user:password@tcp(host:3306)/database", name)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.InterpolateParams = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["time_zone"]; !ok {
		cfg.Params["time_zone"] = "'+00:00'"
	}
	if _, ok := cfg.Params["sql_mode"]; !ok {
		cfg.Params["sql_mode"] = "CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')"
	}
	// The driver's own complaints (a connection the server or network
	// dropped, which database/sql then replaces) go to tandem's log.
	if log == nil {
		log = slog.Default()
	}
	cfg.Logger = driverLog{log.With("system", name)}
	tc, err := sys.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("mysql system %q: %w", name, err)
	}
	if tc != nil {
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(cfg.Addr)
		}
		cfg.TLS = tc
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql system %q: %w", name, err)
	}
	db := sql.OpenDB(conn)
	d := &dialect{schema: cfg.DBName}
	e, err := sqldb.New(ctx, sqldb.Options{System: name, DB: db, Dialect: d, Tables: tables, Log: log,
		Where: cfg.Addr + "/" + cfg.DBName})
	if err != nil {
		return nil, err
	}
	var mode, step, binlog int64
	var version, format string
	if err := db.QueryRowContext(ctx, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment, VERSION(), @@log_bin, @@binlog_format").
		Scan(&mode, &step, &version, &binlog, &format); err != nil {
		_ = e.Close(ctx)
		return nil, fmt.Errorf("mysql system %q: read server settings: %w", name, err)
	}
	// Lock modes 0 and 1 give the rows of one multi-row INSERT
	// consecutive keys, so their keys follow from the first.
	if mode <= 1 && step > 0 {
		d.idStep = step
	}
	d.lock, d.mariadb = locking(version)
	if binlog == 1 && strings.EqualFold(format, "STATEMENT") {
		_ = e.Close(ctx)
		return nil, fmt.Errorf("mysql system %q at %s: the binary log is in STATEMENT format, which cannot log tandem's "+
			"READ COMMITTED write transactions; set the server's binlog_format to ROW or MIXED, or add "+
			"binlog_format=ROW to the dsn's parameters (setting it needs the BINLOG ADMIN or SUPER privilege)", name, cfg.Addr)
	}
	return &System{Engine: e}, nil
}

// driverLog passes the driver's messages to tandem's log at debug
// level: every one is followed by an error tandem reports itself, or by
// a retry on a new connection.
type driverLog struct{ log *slog.Logger }

func (l driverLog) Print(v ...any) { l.log.Debug("mysql driver: " + fmt.Sprint(v...)) }
