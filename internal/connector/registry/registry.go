package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/connector/hubspot"
	"github.com/tandemhub/tandem/internal/connector/mysql"
	"github.com/tandemhub/tandem/internal/connector/postgres"
	"github.com/tandemhub/tandem/internal/connector/queue"
	"github.com/tandemhub/tandem/internal/connector/salesforce"
	"github.com/tandemhub/tandem/internal/connector/sqlite"
	"github.com/tandemhub/tandem/internal/secret"
)

// System is what every connector type gives the hub.
type System interface {
	connector.Source
	connector.Destination
	connector.Installer
}

// Factory opens one system of a connector type with the tables mapped to it.
type Factory func(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (System, error)

var factories = map[string]Factory{
	"postgres":   adapt(postgres.New),
	"mysql":      adapt(mysql.New),
	"sqlite":     adapt(sqlite.New),
	"queue":      adapt(queue.New),
	"http":       adapt(httpapi.New),
	"hubspot":    adapt(hubspot.New),
	"salesforce": adapt(salesforce.New),
}

// adapt turns a connector's New, which returns its concrete type, into a Factory.
func adapt[T System](open func(context.Context, string, *config.System, []connector.Table, *slog.Logger) (T, error)) Factory {
	return func(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (System, error) {
		s, err := open(ctx, name, sys, tables, log)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Open opens the system name of the type sys.Type. Its error never holds
// one of the system's secrets, whatever a driver put in it.
func Open(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (System, error) {
	f, ok := factories[sys.Type]
	if !ok {
		return nil, fmt.Errorf("system %q: unknown type %q; use one of %s", name, sys.Type, strings.Join(Types(), ", "))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := f(ctx, name, sys, tables, log)
	if err != nil {
		return nil, secret.New(sys.Secrets()...).Error(err)
	}
	return s, nil
}

// Types lists the known connector types, sorted.
func Types() []string {
	out := make([]string, 0, len(factories))
	for t := range factories {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
