package config

// The settings of systems reached through a REST API: the generic http
// connector and the salesforce and hubspot connectors. For these types
// a system's dsn is the API's base URL (https://api.example.com/v2,
// https://acme.my.salesforce.com); hubspot defaults it to
// https://api.hubapi.com.

// API is what every API connector type shares: authentication,
// politeness and timeouts.
type API struct {
	// Auth says how tandem signs in. Write secrets as ${ENV_VAR} or ${file:PATH}.
	Auth *Auth `yaml:"auth" secret:"block"`
	// Headers are sent with every request, like {Accept-Version: "2"}.
	// The value of a header whose name says auth, key, token, secret,
	// pass, cookie, signature, session or credential is a secret.
	Headers map[string]string `yaml:"headers" secret:"header"`
	// Timeout bounds one request, answer included. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// RateLimit caps the requests tandem sends to the system, like 10/s,
	// 600/m or 100/10s; "off" (the default) sends as fast as the system
	// answers, still slowing down when it answers 429.
	RateLimit string `yaml:"rate_limit"`
	// Burst is how many requests may go at once after a quiet spell.
	// Default: one second's worth of rate_limit, at least 1.
	Burst int `yaml:"burst"`
	// Retries is how many times a request that failed with a 5xx, a
	// timeout or a broken connection is sent again, with backoff, before
	// the call fails (delivery then retries it later). Default 4.
	Retries int `yaml:"retries"`
	// MaxWait bounds how long one call waits out 429 answers and
	// Retry-After before it fails for a later retry. Default 2m.
	MaxWait Duration `yaml:"max_wait"`
	// Overlap is how far back each poll for changes looks again, for
	// records whose updated-at the system set a little in the past.
	// Records seen already are skipped. Default 1s.
	Overlap Duration `yaml:"overlap"`
}

// Auth is one way of signing in; set one of its keys.
type Auth struct {
	// Bearer sends Authorization: Bearer TOKEN.
	Bearer string `yaml:"bearer" secret:"value"`
	// Basic sends HTTP basic authentication.
	Basic *BasicAuth `yaml:"basic" secret:"block"`
	// Header sends an API key in a header of its own, like X-API-Key.
	Header *HeaderAuth `yaml:"header" secret:"block"`
}

// BasicAuth is a user name and password.
type BasicAuth struct {
	User     string `yaml:"user"`
	Password string `yaml:"password" secret:"value"`
}

// HeaderAuth is an API key sent in a named header.
type HeaderAuth struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value" secret:"value"`
}

// HTTP configures a system of type http: any REST API, described
// rather than coded.
type HTTP struct {
	Auth      *Auth             `yaml:"auth" secret:"block"`
	Headers   map[string]string `yaml:"headers" secret:"header"`
	Timeout   Duration          `yaml:"timeout"`
	RateLimit string            `yaml:"rate_limit"`
	Burst     int               `yaml:"burst"`
	Retries   int               `yaml:"retries"`
	MaxWait   Duration          `yaml:"max_wait"`
	Overlap   Duration          `yaml:"overlap"`
	// Resources describe the endpoints of each mapped table, by the
	// mapping's table name. A table without an entry gets the defaults:
	// GET/POST /TABLE, GET/PATCH/DELETE /TABLE/{id}.
	Resources map[string]*Resource `yaml:"resources"`
	// Webhook accepts notifications the system pushes to
	// http://LISTEN/webhooks/SYSTEM (see listen:). tandem then fetches
	// the records named, so repeated or reordered notifications are harmless.
	Webhook *Webhook `yaml:"webhook" secret:"block"`
}

// Resource is one REST collection.
type Resource struct {
	// Path of the collection, relative to the base URL. Default /TABLE.
	Path string `yaml:"path"`
	// Item is the path of one record; {id} stands for its id. Default PATH/{id}.
	Item string `yaml:"item"`
	// Records is where a list answer holds the records, as a dotted
	// path like data or result.items; empty when the answer is the list.
	Records string `yaml:"records"`
	// Record is where a get, create or update answer holds the record;
	// empty when the answer is the record.
	Record string `yaml:"record"`
	// ID is the field holding a record's id. Default: the mapping's key.
	ID string `yaml:"id"`
	// Updated is the field holding when a record last changed (a time,
	// or epoch seconds or milliseconds) or a version number that grows
	// with every change. Changes are polled with it.
	Updated string `yaml:"updated"`
	// Since are the query parameters that select records changed since a
	// point, with {since} standing for it, like {updated_since: "{since}"}
	// or {updatedAt_gte: "{since}"}. The list must come sorted by Updated,
	// oldest first (add the sort parameters to params).
	Since map[string]string `yaml:"since"`
	// SinceFormat is how {since} is written: rfc3339, unix, unix_ms or
	// raw (the value as the system wrote it). Default raw.
	SinceFormat string `yaml:"since_format"`
	// Params are sent with every list call, like {_sort: updatedAt, _order: asc}.
	Params map[string]string `yaml:"params"`
	// Paging says how the list is paged. Default: one call returns all.
	Paging *Paging `yaml:"paging"`
	// Lookup is a field of the system in which tandem stores each
	// record's global id when it creates the record. A create whose
	// answer was lost is looked up by it before it is sent again, and
	// tandem's own records are recognised when they come back.
	Lookup string `yaml:"lookup"`
	// Match is a natural-key field (like email) to look a record up by
	// before creating it, when there is no lookup field.
	Match string `yaml:"match"`
	// Create, Update and Delete override the write endpoints.
	// Defaults: POST PATH, PATCH ITEM, DELETE ITEM.
	Create *Endpoint `yaml:"create"`
	Update *Endpoint `yaml:"update"`
	Delete *Endpoint `yaml:"delete"`
	// Body wraps a written record under this key, like data → {"data": {…}}.
	Body string `yaml:"body"`
	// Batch names batch endpoints, used instead of one call per record.
	Batch *Batch `yaml:"batch"`
	// Condition makes updates conditional, where the API can: each
	// update carries the version tandem read before writing, and the API
	// refuses it (409 or 412) if a user wrote the record since. Without
	// it, a user's write in the moment between tandem's read and its
	// write is overwritten.
	Condition *Condition `yaml:"condition"`
	// Deletes says how deletes made in the system are seen.
	Deletes *Deletes `yaml:"deletes"`

	Line int `yaml:"-"`
}

// Condition is how an update says which version of the record it is
// for: the body field Field gets the value of the record's field From
// (like version, or an etag), as tandem read it just before; null when
// the record had no such field then.
type Condition struct {
	Field string `yaml:"field"`
	From  string `yaml:"from"`
}

// Paging is how a list is read page by page.
type Paging struct {
	// Style: offset, page, token, link or none (the default).
	Style string `yaml:"style"`
	// Size is the number of records asked for per page. Default 100.
	Size int `yaml:"size"`
	// Limit is the query parameter carrying Size, like limit or _limit.
	Limit string `yaml:"limit"`
	// Offset (style offset) is the parameter carrying how many records to skip.
	Offset string `yaml:"offset"`
	// Page (style page) is the parameter carrying the page number, from First.
	Page  string `yaml:"page"`
	First int    `yaml:"first"`
	// Token (style token) is the parameter carrying the next-page token.
	Token string `yaml:"token"`
	// Next (styles token and link) is where the answer holds the next
	// token or link, as a dotted path like paging.next.after. Style link
	// reads the Link header when Next is empty.
	Next string `yaml:"next"`
}

// Endpoint is a method and a path; {id} in the path stands for the record's id.
type Endpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
}

// Batch names the endpoints that write many records in one call.
type Batch struct {
	Create *BatchEndpoint `yaml:"create"`
	Update *BatchEndpoint `yaml:"update"`
	Delete *BatchEndpoint `yaml:"delete"`
}

// BatchEndpoint is one batch call. Its answer must hold one result per
// record, in order: the record written, or an error.
type BatchEndpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// Body is the key of the array in the request; empty sends the array.
	Body string `yaml:"body"`
	// Results is where the answer holds the results; empty when it is the array.
	Results string `yaml:"results"`
	// Max is the most records per call. Default 100.
	Max int `yaml:"max"`
}

// Deletes says how tandem learns that a record was deleted in the system.
type Deletes struct {
	// Field marks deleted records that the list still returns (a
	// tombstone or soft delete): a record whose field is true or a
	// non-empty value counts as deleted.
	Field string `yaml:"field"`
	// Path is a separate listing of deleted records, polled like the
	// list with the same since, params and paging; each record needs
	// only its id and Updated.
	Path string `yaml:"path"`
	// Scan lists every id this often and reports the ids that vanished,
	// for APIs with no record of deletes. Meant for small collections.
	Scan Duration `yaml:"scan"`
}

// Webhook verifies and reads notifications a system pushes.
type Webhook struct {
	// Secret is the HMAC-SHA256 key shared with the system; ${ENV_VAR}.
	Secret string `yaml:"secret" secret:"value"`
	// Header carries the signature. Default X-Tandem-Signature.
	Header string `yaml:"header"`
	// Encoding of the signature: hex (default) or base64.
	Encoding string `yaml:"encoding"`
	// Prefix before the signature in the header, like sha256=.
	Prefix string `yaml:"prefix"`
	// Timestamp is a header with the signing time (Unix seconds); when
	// set, the signed text is TIMESTAMP.BODY and old notifications are refused.
	Timestamp string `yaml:"timestamp"`
	// Tolerance is how old a signed timestamp may be. Default 5m.
	Tolerance Duration `yaml:"tolerance"`
	// Events is where the body holds the list of notifications; empty
	// when the body is one notification or a list of them.
	Events string `yaml:"events"`
	// Resource is the field of a notification naming the table it is
	// about. Needed when more than one table is mapped.
	Resource string `yaml:"resource"`
	// ID is the field of a notification holding the record's id. Default id.
	ID string `yaml:"id"`
}

// Salesforce configures a system of type salesforce. dsn is the org's
// instance URL, like https://acme.my.salesforce.com.
type Salesforce struct {
	Auth      *Auth             `yaml:"auth" secret:"block"`
	Headers   map[string]string `yaml:"headers" secret:"header"`
	Timeout   Duration          `yaml:"timeout"`
	RateLimit string            `yaml:"rate_limit"`
	Burst     int               `yaml:"burst"`
	Retries   int               `yaml:"retries"`
	MaxWait   Duration          `yaml:"max_wait"`
	Overlap   Duration          `yaml:"overlap"`
	// Version is the REST API version. Default 60.0.
	Version string `yaml:"version"`
	// ExternalID is a custom External ID field present on every mapped
	// object (like Tandem_Id__c) in which tandem keeps each record's
	// global id. Creates then upsert by it, so a retried create can never
	// make a second record.
	ExternalID string `yaml:"external_id"`
}

// HubSpot configures a system of type hubspot.
type HubSpot struct {
	Auth      *Auth             `yaml:"auth" secret:"block"`
	Headers   map[string]string `yaml:"headers" secret:"header"`
	Timeout   Duration          `yaml:"timeout"`
	RateLimit string            `yaml:"rate_limit"`
	Burst     int               `yaml:"burst"`
	Retries   int               `yaml:"retries"`
	MaxWait   Duration          `yaml:"max_wait"`
	Overlap   Duration          `yaml:"overlap"`
	// IDProperty is a unique-value custom property present on every
	// mapped object (like tandem_id) in which tandem keeps each record's
	// global id. Creates then upsert by it, so a retried create can never
	// make a second record.
	IDProperty string `yaml:"id_property"`
	// Archived is how often archived (deleted) records are listed. Default 30s.
	Archived Duration `yaml:"archived_every"`
	// Webhook accepts HubSpot's webhook notifications (signature v3,
	// signed with the app's client secret) at http://LISTEN/webhooks/SYSTEM.
	Webhook *Webhook `yaml:"webhook" secret:"block"`
}

// APIOf returns the shared API settings of a system of an API type,
// and false for other types.
func (s *System) APIOf() (API, bool) {
	switch {
	case s.Type == "http" && s.HTTP != nil:
		h := s.HTTP
		return API{Auth: h.Auth, Headers: h.Headers, Timeout: h.Timeout, RateLimit: h.RateLimit, Burst: h.Burst,
			Retries: h.Retries, MaxWait: h.MaxWait, Overlap: h.Overlap}, true
	case s.Type == "salesforce" && s.Salesforce != nil:
		h := s.Salesforce
		return API{Auth: h.Auth, Headers: h.Headers, Timeout: h.Timeout, RateLimit: h.RateLimit, Burst: h.Burst,
			Retries: h.Retries, MaxWait: h.MaxWait, Overlap: h.Overlap}, true
	case s.Type == "hubspot" && s.HubSpot != nil:
		h := s.HubSpot
		return API{Auth: h.Auth, Headers: h.Headers, Timeout: h.Timeout, RateLimit: h.RateLimit, Burst: h.Burst,
			Retries: h.Retries, MaxWait: h.MaxWait, Overlap: h.Overlap}, true
	}
	return API{}, false
}

// IsAPIType reports whether a connector type is reached through a REST API.
func IsAPIType(typ string) bool { return typ == "http" || typ == "salesforce" || typ == "hubspot" }
