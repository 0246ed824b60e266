package torture

import (
	"context"
	"errors"
	"fmt"
)

// The entities of the workload: accounts, and contacts that refer to them.
const (
	Account = "account"
	Contact = "contact"
)

// State is a record as a user of one system sees it, in canonical terms.
// Accounts have Name, Tier and Score; contacts have Name and Account, the
// natural key of their account ("" for none).
type State struct {
	Name    string `json:"name"`
	Tier    string `json:"tier,omitempty"`
	Score   int64  `json:"score,omitempty"`
	Account string `json:"account,omitempty"`
}

func (s State) String() string {
	if s.Tier != "" || s.Score != 0 {
		return fmt.Sprintf("{%q %s %d}", s.Name, s.Tier, s.Score)
	}
	return fmt.Sprintf("{%q account=%q}", s.Name, s.Account)
}

// Row is one record as read from a system.
type Row struct {
	Entity string
	Key    string // the system's own key
	Ref    string // the natural key, unique per entity
	State  State
	// AccountKey is a contact's account key in the system ("" for none);
	// State.Account is "" when the key names no account there (an orphan).
	AccountKey string
}

// Patch is what an update sets; nil fields stay as they are.
type Patch struct {
	Name    *string
	Tier    *string
	Score   *int64
	Account *string // a contact's account, by natural key; "" clears it
}

// App is one system as its own users see it. Every method is one user
// action, atomic in the system; Create and Update return the state the
// action left, read in the same transaction where the system has them.
type App interface {
	Name() string
	Rows(ctx context.Context, entity string) ([]Row, error)
	Create(ctx context.Context, entity, ref string, s State) (State, error)
	Update(ctx context.Context, entity, ref string, p Patch) (State, error)
	Delete(ctx context.Context, entity, ref string) error
	Close() error
}

// errNotHere means the record (or the account a contact should point at)
// is not in the system: not synced there yet, or deleted. The writer
// picks another action; it is not an error of the system.
var errNotHere = errors.New("not in this system")

// Tiers are the canonical tiers of an account.
var Tiers = []string{"gold", "silver", "bronze"}
