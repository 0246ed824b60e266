package hub

import (
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/mapping"
)

// Model is the compiled configuration: mappings and schemas.
type Model struct {
	Maps    map[string]map[string]*mapping.Map // system → entity → mapping
	Schemas map[string]*mapping.Schema         // entity → schema
}

// Compile builds the model of cfg (which must have passed Validate).
func Compile(cfg *config.Config) (*Model, error) {
	m := &Model{Maps: map[string]map[string]*mapping.Map{}, Schemas: map[string]*mapping.Schema{}}
	var errs []error
	for name, e := range cfg.Entities {
		if e.Schema == nil {
			continue
		}
		s, err := mapping.CompileSchema(name, e.Schema)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.Schemas[name] = s
	}
	for sys, ents := range cfg.Mappings {
		m.Maps[sys] = map[string]*mapping.Map{}
		for ent, mc := range ents {
			e := cfg.Entities[ent]
			if e == nil {
				errs = append(errs, fmt.Errorf("mapping %s.%s: unknown entity", sys, ent))
				continue
			}
			mp, err := mapping.New(mc, e)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			m.Maps[sys][ent] = mp
		}
	}
	return m, errors.Join(errs...)
}

// Tables lists what a system's connector needs to know of its mappings.
func (m *Model) Tables(system string) []connector.Table {
	var out []connector.Table
	for ent, mp := range m.Maps[system] {
		out = append(out, connector.Table{Entity: ent, Name: mp.Table, Key: mp.Key,
			KeyGenerated: mp.KeyGenerated, Columns: mp.Columns()})
	}
	return out
}
