package config

import (
	"path/filepath"
	"time"
)

// Defaults of settings left out of tandem.yaml.
const (
	DefaultStoreDir   = "./tandem-data"
	DefaultPoll       = Duration(200 * time.Millisecond)
	DefaultBatch      = 500
	DefaultAttempts   = 8
	DefaultBackoff    = Duration(100 * time.Millisecond)
	DefaultMaxBackoff = Duration(30 * time.Second)
	DefaultKey        = "id"
	// MaxBatch is the largest batch a system may set.
	MaxBatch = 10000
)

// applyDefaults fills what the file left out. Relative paths are taken
// from base, the config file's directory. Each system ends up with its
// complete delivery settings: its own over the hub-wide ones.
func (c *Config) applyDefaults(base string) {
	if c.Store.Dir == "" {
		c.Store.Dir = DefaultStoreDir
	}
	if !filepath.IsAbs(c.Store.Dir) {
		c.Store.Dir = filepath.Join(base, c.Store.Dir)
	}
	c.Delivery.fill(Delivery{Attempts: DefaultAttempts, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff})
	for _, s := range c.Systems {
		if s == nil {
			continue
		}
		if s.Poll == 0 {
			s.Poll = DefaultPoll
		}
		if s.Batch == 0 {
			s.Batch = DefaultBatch
		}
		if s.Snapshot == nil {
			yes := true
			s.Snapshot = &yes
		}
		if s.Delivery == nil {
			s.Delivery = &Delivery{}
		}
		s.Delivery.fill(c.Delivery)
	}
	for _, ents := range c.Mappings {
		for _, m := range ents {
			if m == nil {
				continue
			}
			if m.Key == "" {
				m.Key = DefaultKey
			}
			for name, f := range m.Fields {
				if f != nil && f.Column == "" && f.In == "" {
					f.Column = name
				}
			}
		}
	}
}

// fill sets the settings d leaves at zero from def.
func (d *Delivery) fill(def Delivery) {
	if d.Attempts == 0 {
		d.Attempts = def.Attempts
	}
	if d.Backoff == 0 {
		d.Backoff = def.Backoff
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = def.MaxBackoff
	}
}
