package torture

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// shopJS runs json-server with conditional updates (see the file).
//
//go:embed shop.js
var shopJS []byte

// startJSONServer starts json-server 0.17.4 (bin, its command) on a free
// port with an empty database in dir: a real third-party REST server
// that makes its own numeric ids and reuses the highest one after it is
// deleted. It runs through shop.js, which adds conditional updates:
// without them no sync tool can keep a user's edit that lands between
// its look at a record and its write (docs/torture.md).
func startJSONServer(ctx context.Context, bin, dir string) (*child, error) {
	file := filepath.Join(dir, "shop.json")
	if err := os.WriteFile(file, []byte(`{"accounts": [], "contacts": []}`), 0o644); err != nil {
		return nil, err
	}
	mod, err := jsonServerModule(bin)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("json-server needs node: %w", err)
	}
	script := filepath.Join(dir, "shop.js")
	if err := os.WriteFile(script, shopJS, 0o644); err != nil {
		return nil, err
	}
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, script, mod, file, fmt.Sprint(port)) //nolint:noctx // its life is startChild's: child.stop signals its process group
	cmd.Dir = dir
	out := &bytes.Buffer{}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	return startChild(ctx, "json-server", cmd, out, out.String, url, url+"/accounts")
}

// jsonServerModule finds json-server's package directory from its
// command (node_modules/.bin/json-server, a link into the package).
func jsonServerModule(bin string) (string, error) {
	path, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return "", fmt.Errorf("find json-server from %s: %w", bin, err)
	}
	for dir := filepath.Dir(path); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil && filepath.Base(dir) == "json-server" {
			return dir, nil
		}
	}
	return "", fmt.Errorf("find json-server's package from %s: no json-server directory with a package.json above it", path)
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// jsonApp plays json-server's users: records carry a code (the natural
// key) and an updatedAt in epoch milliseconds that the application sets
// on every write, as an application that keeps an updated-at would.
type jsonApp struct {
	name string
	base string
	hc   *http.Client

	mu sync.Mutex
	// seen is when the users first had each record in front of them
	// (entity, id and ref), for deletes (see deleteAfterSeen).
	seen map[string]time.Time
}

// deleteAfterSeen is how long the shop's users have had a record in front
// of them before they delete it. tandem sees the shop's deletes only by
// listing its ids every second; a record tandem made there whose answer
// was lost (or whose hub was killed before keeping it), deleted before
// any listing, leaves nothing tandem can read, and its create is made
// again (docs/torture.md, known limits). People delete records they have
// looked at; the harness lets them do so after three seconds, so that a
// listing has seen the record, and counts every delete it makes.
const deleteAfterSeen = 3 * time.Second

func newJSONApp(name, base string) *jsonApp {
	return &jsonApp{name: name, base: base, hc: &http.Client{Timeout: 10 * time.Second}, seen: map[string]time.Time{}}
}

// seenFor is how long the users have had id (ref's record) in front of
// them, counting from now when they never had.
func (a *jsonApp) seenFor(entity, id, ref string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := entity + "/" + id + "/" + ref
	first, ok := a.seen[k]
	if !ok {
		a.seen[k] = time.Now()
		return 0
	}
	return time.Since(first)
}

func (a *jsonApp) Name() string { return a.name }
func (a *jsonApp) Close() error { return nil }

func collection(entity string) string {
	if entity == Account {
		return "/accounts"
	}
	return "/contacts"
}

func (a *jsonApp) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %s %s: %w", a.name, method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return resp.StatusCode, errNotHere
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s: %s %s: %d %s", a.name, method, path, resp.StatusCode, data)
	}
	if out != nil {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if err := d.Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: %s %s: %w", a.name, method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (a *jsonApp) list(ctx context.Context, entity string, q url.Values) ([]map[string]any, error) {
	path := collection(entity)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []map[string]any
	_, err := a.do(ctx, "GET", path, nil, &out)
	return out, err
}

func (a *jsonApp) Rows(ctx context.Context, entity string) ([]Row, error) {
	recs, err := a.list(ctx, entity, nil)
	if err != nil {
		return nil, err
	}
	var accts map[string]string // id → code
	if entity == Contact {
		as, err := a.list(ctx, Account, nil)
		if err != nil {
			return nil, err
		}
		accts = map[string]string{}
		for _, r := range as {
			accts[text(r["id"])] = text(r["code"])
		}
	}
	out := make([]Row, 0, len(recs))
	for _, r := range recs {
		out = append(out, a.row(entity, r, accts))
	}
	return out, nil
}

func (a *jsonApp) row(entity string, r map[string]any, accts map[string]string) Row {
	row := Row{Entity: entity, Key: text(r["id"]), Ref: text(r["code"])}
	if entity == Account {
		row.State = State{Name: text(r["name"]), Tier: text(r["tier"]), Score: integer(r["score"])}
		return row
	}
	row.AccountKey = text(r["account"])
	row.State = State{Name: text(r["name"]), Account: accts[row.AccountKey]}
	return row
}

// find returns the id of the record with code ref.
func (a *jsonApp) find(ctx context.Context, entity, ref string) (string, error) {
	recs, err := a.list(ctx, entity, url.Values{"code": {ref}})
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if text(r["code"]) == ref {
			id := text(r["id"])
			a.seenFor(entity, id, ref)
			return id, nil
		}
	}
	return "", errNotHere
}

func (a *jsonApp) body(ctx context.Context, entity string, s State, p *Patch) (map[string]any, error) {
	m := map[string]any{"updatedAt": time.Now().UnixMilli()}
	set := func(k string, v any) { m[k] = v }
	if p == nil {
		set("name", s.Name)
		if entity == Account {
			set("tier", s.Tier)
			set("score", s.Score)
		} else {
			p = &Patch{Account: &s.Account}
		}
	} else {
		if p.Name != nil {
			set("name", *p.Name)
		}
		if p.Tier != nil {
			set("tier", *p.Tier)
		}
		if p.Score != nil {
			set("score", *p.Score)
		}
	}
	if entity == Contact && p != nil && p.Account != nil {
		if *p.Account == "" {
			set("account", nil)
		} else {
			id, err := a.find(ctx, Account, *p.Account)
			if err != nil {
				return nil, err
			}
			n, err := json.Number(id).Int64()
			if err != nil {
				set("account", id)
			} else {
				set("account", n)
			}
		}
	}
	return m, nil
}

// stateOf reads the state of a record json-server answered with.
func (a *jsonApp) stateOf(ctx context.Context, entity string, r map[string]any) (State, error) {
	if entity == Account {
		return a.row(entity, r, nil).State, nil
	}
	accts := map[string]string{}
	if id := text(r["account"]); id != "" {
		var acct map[string]any
		if _, err := a.do(ctx, "GET", "/accounts/"+url.PathEscape(id), nil, &acct); err == nil {
			accts[id] = text(acct["code"])
		} else if !errors.Is(err, errNotHere) {
			return State{}, err
		}
	}
	return a.row(entity, r, accts).State, nil
}

func (a *jsonApp) Create(ctx context.Context, entity, ref string, s State) (State, error) {
	m, err := a.body(ctx, entity, s, nil)
	if err != nil {
		return s, err
	}
	m["code"] = ref
	var got map[string]any
	if _, err := a.do(ctx, "POST", collection(entity), m, &got); err != nil {
		return s, err
	}
	return a.stateOf(ctx, entity, got)
}

// Update patches the record with code ref. Between finding its id and
// the patch, the id could be freed and reused by another record; the
// answer says which record was written, and a write that hit another
// one is reported as errWrongRecord with its code.
func (a *jsonApp) Update(ctx context.Context, entity, ref string, p Patch) (State, error) {
	id, err := a.find(ctx, entity, ref)
	if err != nil {
		return State{}, err
	}
	m, err := a.body(ctx, entity, State{}, &p)
	if err != nil {
		return State{}, err
	}
	var got map[string]any
	if _, err := a.do(ctx, "PATCH", collection(entity)+"/"+url.PathEscape(id), m, &got); err != nil {
		return State{}, err
	}
	s, err := a.stateOf(ctx, entity, got)
	if err != nil {
		return s, err
	}
	if code := text(got["code"]); code != ref {
		return s, &wrongRecord{ref: code}
	}
	return s, nil
}

func (a *jsonApp) Delete(ctx context.Context, entity, ref string) error {
	id, err := a.find(ctx, entity, ref)
	if err != nil {
		return err
	}
	if a.seenFor(entity, id, ref) < deleteAfterSeen {
		return errNotHere // not yet: the users have only just come across it
	}
	_, err = a.do(ctx, "DELETE", collection(entity)+"/"+url.PathEscape(id), nil, nil)
	return err
}

// wrongRecord is an update that, through a reused id, wrote another
// record than the one meant: the writer records it as a write of ref.
type wrongRecord struct{ ref string }

func (e *wrongRecord) Error() string { return "the write reached record " + e.ref }
