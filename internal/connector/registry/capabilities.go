package registry

import (
	"github.com/tandemhub/tandem/internal/connector"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/connector/hubspot"
	"github.com/tandemhub/tandem/internal/connector/mysql"
	"github.com/tandemhub/tandem/internal/connector/postgres"
	"github.com/tandemhub/tandem/internal/connector/queue"
	"github.com/tandemhub/tandem/internal/connector/salesforce"
	"github.com/tandemhub/tandem/internal/connector/sqlite"
)

// Each connector's optional parts, checked by the compiler: a change of a
// capability's signature fails the build here instead of leaving the hub
// to find the capability missing at run time (see connector.CapabilitiesOf).
var (
	_ connector.Checker = (*postgres.System)(nil)
	_ connector.Checker = (*mysql.System)(nil)
	_ connector.Checker = (*sqlite.System)(nil)

	_ connector.Positioner = (*httpapi.System)(nil)
	_ connector.Webhooks   = (*httpapi.System)(nil)
	_ connector.Knower     = (*httpapi.System)(nil)
	_ connector.Announcer  = (*httpapi.System)(nil)
	_ connector.ReadsBack  = (*httpapi.System)(nil)

	_ connector.Positioner = (*hubspot.System)(nil)
	_ connector.Webhooks   = (*hubspot.System)(nil)

	_ connector.Positioner = (*salesforce.System)(nil)

	_ connector.Positioner = (*queue.System)(nil)
	_ connector.Reporter   = (*queue.System)(nil)
)
