package demo

// The three demo systems, each with its own table names, column names and keys.
const (
	catalogueDDL = `
CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT, country TEXT);
CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT, account_id INTEGER);
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT NOT NULL, title TEXT, price REAL);`

	crmDDL = `
CREATE TABLE IF NOT EXISTS Account (Id TEXT PRIMARY KEY, Name TEXT NOT NULL, Email__c TEXT, BillingCountry TEXT);
CREATE TABLE IF NOT EXISTS Contact (Id TEXT PRIMARY KEY, LastName TEXT NOT NULL, Email TEXT, AccountId TEXT);
CREATE TABLE IF NOT EXISTS Product2 (Id TEXT PRIMARY KEY, ProductCode TEXT, Name TEXT, Price__c REAL);`

	accountingDDL = `
CREATE TABLE IF NOT EXISTS customers (cust_no INTEGER PRIMARY KEY AUTOINCREMENT, cust_name TEXT NOT NULL, mail TEXT, country TEXT);
CREATE TABLE IF NOT EXISTS people (person_no INTEGER PRIMARY KEY AUTOINCREMENT, full_name TEXT NOT NULL, mail TEXT, cust_no INTEGER);
CREATE TABLE IF NOT EXISTS items (item_no INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL, description TEXT, price_cents INTEGER);`
)

// configYAML is the demo's tandem.yaml; %q slots are the store directory,
// the three database files and the CRM simulator's base URL.
const configYAML = `# tandem demo: three systems keeping accounts, contacts and products in step.
version: 1
store:
  dir: %q
systems:
  catalogue:
    type: sqlite
    dsn: %q
    poll: 100ms
  crm:
    type: sqlite
    dsn: %q
    poll: 100ms
  accounting:
    type: sqlite
    dsn: %q
    poll: 100ms
  crmsim:
    type: http
    dsn: %q
    poll: 100ms
    http:
      timeout: 5s
      rate_limit: 140/s
      resources:
        accounts: &crmsim
          records: data
          updated: updated_at
          since: {updated_since: "{since}"}
          since_format: rfc3339
          params: {include_deleted: "true"}
          paging: {style: token, size: 200, limit: limit, token: cursor, next: next_cursor}
          lookup: tandem_id
          deletes: {field: deleted}
          condition: {field: if_version, from: version}
        contacts: *crmsim
entities:
  account:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
        country: {enum: [US, DE, FR, GB]}
      required: [name]
  contact:
    match: [email]
    refs: {account_id: account}
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
        account_id: {type: string}
      required: [name]
  product:
    match: [sku]
    schema:
      type: object
      properties:
        sku: {type: string, pattern: "^[A-Z]{3}-[0-9]{4}$"}
        title: {type: string}
        price: {type: number, minimum: 0}
      required: [sku]
mappings:
  catalogue:
    account:
      table: accounts
      key_generated: true
      fields: {name: name, email: email, country: country}
    contact:
      table: contacts
      key_generated: true
      fields: {name: name, email: email, account_id: account_id}
    product:
      table: products
      key_generated: true
      fields: {sku: sku, title: title, price: price}
  crm:
    account:
      table: Account
      key: Id
      fields:
        name: Name
        email: Email__c
        country:
          column: BillingCountry
          values: {United States: US, Germany: DE, France: FR, United Kingdom: GB}
    contact:
      table: Contact
      key: Id
      fields: {name: LastName, email: Email, account_id: AccountId}
    product:
      table: Product2
      key: Id
      fields: {sku: ProductCode, title: Name, price: Price__c}
  accounting:
    account:
      table: customers
      key: cust_no
      key_generated: true
      fields: {name: cust_name, email: mail, country: country}
    contact:
      table: people
      key: person_no
      key_generated: true
      fields: {name: full_name, email: mail, account_id: cust_no}
    product:
      table: items
      key: item_no
      key_generated: true
      fields:
        sku: code
        title: description
        price:
          column: price_cents
          in: price_cents / 100.0
          out: int(round(price * 100))
  crmsim:
    account:
      table: accounts
      key_generated: true
      fields: {name: name, email: email, country: country}
    contact:
      table: contacts
      key_generated: true
      fields: {name: name, email: email, account_id: account_id}
routes:
  - entity: account
    between: [catalogue, crm, accounting, crmsim]
  - entity: contact
    between: [catalogue, crm, accounting, crmsim]
  - entity: product
    from: catalogue
    to: [crm, accounting]
`
