package config

import "time"

// Config is a whole tandem.yaml.
type Config struct {
	// Version of the file format; must be 1.
	Version int `yaml:"version"`
	// Store says where the hub keeps its state.
	Store Store `yaml:"store"`
	// Systems are the connected applications and databases, by name.
	Systems map[string]*System `yaml:"systems"`
	// Entities are the kinds of record shared across systems, by name.
	Entities map[string]*Entity `yaml:"entities"`
	// Mappings say how each entity looks in each system: system → entity → mapping.
	Mappings map[string]map[string]*Mapping `yaml:"mappings"`
	// Routes say which systems exchange which entities.
	Routes []*Route `yaml:"routes"`
	// Delivery tunes delivery to every system; a system may override it.
	Delivery Delivery `yaml:"delivery"`
	// Listen is the address the hub serves webhooks on, like 127.0.0.1:7070;
	// systems that push notifications post to http://LISTEN/webhooks/SYSTEM.
	// The host must be written: 127.0.0.1 for this machine only, 0.0.0.0
	// (or [::]) for every interface; ":7070" is refused.
	Listen string `yaml:"listen"`

	// File is the path the config was read from (not a YAML key).
	File string `yaml:"-"`
	// Warnings are what is allowed but unwise in the file, like a
	// password written in it rather than given as ${ENV_VAR}.
	Warnings Problems `yaml:"-"`
}

// Store is the hub's own state.
type Store struct {
	// Dir is the data directory holding the embedded store. Default "./tandem-data".
	Dir string `yaml:"dir"`
}

// System is one connected application or database.
type System struct {
	// Type is the connector type: postgres, mysql, sqlite, http,
	// salesforce, hubspot or queue.
	Type string `yaml:"type"`
	// DSN is the connection string; write its password as ${ENV_VAR} or
	// ${file:PATH}. postgres: "postgres://user:${PG_PASSWORD}@host:5432/db";
	// mysql: "user:${MYSQL_PASSWORD}@tcp(host:3306)/db"; sqlite: a file path.
	DSN string `yaml:"dsn" secret:"dsn"`
	// Poll is how often capture looks for new changes when idle. Default 200ms.
	Poll Duration `yaml:"poll"`
	// Batch is the most changes captured or written in one round. Default 500.
	Batch int `yaml:"batch"`
	// Snapshot copies the rows that already exist when tandem first runs. Default true.
	Snapshot *bool `yaml:"snapshot"`
	// Delivery overrides the hub-wide delivery settings for writes to this system.
	Delivery *Delivery `yaml:"delivery"`
	// TLS secures the connection to the system (see tls.go).
	TLS *TLS `yaml:"tls"`
	// Blocks are the settings blocks of the system's connector type, by
	// key (http:, queue:, …), as the connector's registered Section
	// decoded them. The connector's package reads its own.
	Blocks map[string]any `yaml:"-"`

	Name string `yaml:"-"`
	Line int    `yaml:"-"`
}

// Delivery tunes retries of writes to a system.
type Delivery struct {
	// Attempts is how many times a write is tried before it is dead-lettered. Default 8.
	Attempts int `yaml:"attempts"`
	// Backoff is the first retry delay; it doubles, with jitter, up to MaxBackoff. Default 100ms.
	Backoff Duration `yaml:"backoff"`
	// MaxBackoff caps the retry delay. Default 30s.
	MaxBackoff Duration `yaml:"max_backoff"`
}

// Entity is a kind of record shared across systems.
type Entity struct {
	// Schema is the canonical JSON Schema of the record, inline.
	Schema map[string]any `yaml:"schema"`
	// SchemaFile is a path to the JSON Schema, relative to the config file.
	SchemaFile string `yaml:"schema_file"`
	// Refs names the fields that reference other entities: field → entity.
	Refs map[string]string `yaml:"refs"`
	// Match lists natural-key fields: a record new to tandem whose values
	// of these fields equal an existing record's is the same record.
	Match []string `yaml:"match"`
	// Merge says how a captured change combines with tandem's record:
	// "record" (the default), the newest change by its source's time wins
	// whole; "field", each field the change's source says its users
	// changed is taken, so concurrent edits of different fields both stay.
	Merge string `yaml:"merge"`

	Name string `yaml:"-"`
	Line int    `yaml:"-"`
}

// Merge modes of an entity.
const (
	MergeRecord = "record"
	MergeField  = "field"
)

// FieldMerge reports whether e merges field by field.
func (e *Entity) FieldMerge() bool { return e != nil && e.Merge == MergeField }

// Mapping is how one entity looks in one system.
type Mapping struct {
	// Table holding the records.
	Table string `yaml:"table"`
	// Key is the key column. Default "id".
	Key string `yaml:"key"`
	// KeyGenerated is true when the system assigns keys (serial,
	// auto-increment); tandem then reads the new key back after a create.
	// When false tandem uses the record's global id as the key of a create.
	KeyGenerated bool `yaml:"key_generated"`
	// Fields maps canonical fields to this system's columns: field → spec.
	Fields map[string]*Field `yaml:"fields"`
	// Filter is an expression over the canonical record; only records for
	// which it is true are sent to this system.
	Filter string `yaml:"filter"`

	System string `yaml:"-"`
	Entity string `yaml:"-"`
	Line   int    `yaml:"-"`
}

// Field maps one canonical field to one column. In YAML a plain string is
// shorthand for {column: NAME}.
type Field struct {
	// Column in this system. Default: the canonical field name.
	Column string `yaml:"column"`
	// Values translates values: this system's value → canonical value.
	// The reverse is used when writing.
	Values map[string]string `yaml:"values"`
	// In is an expression computing the canonical value from the system's
	// row (columns by name), used instead of Column when capturing.
	In string `yaml:"in"`
	// Out is an expression computing the column value from the canonical
	// record (fields by name), used when writing.
	Out string `yaml:"out"`
	// Default is the canonical value when the column is empty (NULL).
	Default any `yaml:"default"`
	// ReadOnly fields are captured but never written to this system.
	ReadOnly bool `yaml:"read_only"`

	Line int `yaml:"-"`
}

// Route says which systems exchange an entity.
type Route struct {
	// Entity routed.
	Entity string `yaml:"entity"`
	// Between lists systems that exchange the entity both ways.
	Between []string `yaml:"between"`
	// From and To declare a one-way route.
	From string   `yaml:"from"`
	To   []string `yaml:"to"`

	Line int `yaml:"-"`
}

// Duration is a time.Duration written like 200ms or 5s.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
