package memory

import (
	"time"
)

// GID implements store.Identity.
func (t *tx) GID(entity, system, key string) (string, bool, error) {
	l, ok := t.st.links[linkKey{entity, system, key}]
	return l.gid, ok, nil
}

// Key implements store.Identity.
func (t *tx) Key(entity, gid, system string) (string, bool, error) {
	k, ok := t.st.keys[gidKey{entity, gid}][system]
	return k, ok, nil
}

// Links implements store.Identity.
func (t *tx) Links(entity, gid string) (map[string]string, error) {
	out := map[string]string{}
	for s, k := range t.st.keys[gidKey{entity, gid}] {
		out[s] = k
	}
	return out, nil
}

// LinkedKeys implements store.Identity.
func (t *tx) LinkedKeys(entity, system string) ([]string, error) {
	var out []string
	for k := range t.st.links {
		if k.entity == entity && k.system == system {
			out = append(out, k.key)
		}
	}
	return out, nil
}

// LinkedAt implements store.Identity.
func (t *tx) LinkedAt(entity, system, key string) (time.Time, bool, error) {
	l, ok := t.st.links[linkKey{entity, system, key}]
	return l.at, ok, nil
}

// PutLinkAt implements store.Identity.
func (t *tx) PutLinkAt(entity, system, key, gid string, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := linkKey{entity, system, key}
	if old, ok := t.st.links[k]; ok && old.gid != gid {
		t.unkey(entity, old.gid, system)
	}
	if other, ok := t.st.keys[gidKey{entity, gid}][system]; ok && other != key {
		delete(t.st.links, linkKey{entity, system, other})
	}
	t.st.links[k] = link{gid: gid, at: at.UTC()}
	ks := t.st.keys[gidKey{entity, gid}]
	if ks == nil {
		ks = map[string]string{}
		t.st.keys[gidKey{entity, gid}] = ks
	}
	ks[system] = key
	return nil
}

// NewLinkAt implements store.Identity.
func (t *tx) NewLinkAt(entity, system, key, gid string, at time.Time) error {
	return t.PutLinkAt(entity, system, key, gid, at)
}

// unkey forgets gid's key in system.
func (t *tx) unkey(entity, gid, system string) {
	ks := t.st.keys[gidKey{entity, gid}]
	delete(ks, system)
	if len(ks) == 0 {
		delete(t.st.keys, gidKey{entity, gid})
	}
}

// Unlink implements store.Identity.
func (t *tx) Unlink(entity, system, key string, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := linkKey{entity, system, key}
	l, ok := t.st.links[k]
	if !ok {
		return nil
	}
	delete(t.st.links, k)
	t.unkey(entity, l.gid, system)
	t.st.gone[k] = grave{gid: l.gid, at: at.UTC()}
	return nil
}

// Bury implements store.Tombstones.
func (t *tx) Bury(entity, system, key, gid string, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	t.st.gone[linkKey{entity, system, key}] = grave{gid: gid, at: at.UTC()}
	return nil
}

// Tombstone implements store.Tombstones.
func (t *tx) Tombstone(entity, system, key string) (string, time.Time, bool, error) {
	g, ok := t.st.gone[linkKey{entity, system, key}]
	return g.gid, g.at, ok, nil
}

// Alias implements store.Aliases.
func (t *tx) Alias(entity, old string) (string, bool, error) {
	gid, ok := t.st.aliases[pair{entity, old}]
	return gid, ok, nil
}

// PutAlias implements store.Aliases.
func (t *tx) PutAlias(entity, old, gid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	t.st.aliases[pair{entity, old}] = gid
	return nil
}

// Natural implements store.Naturals.
func (t *tx) Natural(entity, value string) (string, bool, error) {
	gid, ok := t.st.naturals[pair{entity, value}]
	return gid, ok, nil
}

// PutNatural implements store.Naturals.
func (t *tx) PutNatural(entity, value, gid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	t.st.naturals[pair{entity, value}] = gid
	return nil
}

// DeleteNatural implements store.Naturals.
func (t *tx) DeleteNatural(entity, value string) error {
	if err := t.writable(); err != nil {
		return err
	}
	delete(t.st.naturals, pair{entity, value})
	return nil
}

// Preload implements store.Preloader: everything is at hand already.
func (t *tx) Preload(string, string, []string) error { return nil }

// PreloadGIDs implements store.Preloader.
func (t *tx) PreloadGIDs(string, []string) error { return nil }
