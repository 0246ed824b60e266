package queue

// memo is a bounded map that forgets its oldest entries: it keeps two
// generations of up to size entries and drops the older generation when
// the newer one is full. Lookups see both.
type memo[K comparable, V any] struct {
	size      int
	cur, prev map[K]V
}

func newMemo[K comparable, V any](size int) *memo[K, V] {
	return &memo[K, V]{size: size, cur: make(map[K]V), prev: make(map[K]V)}
}

func (m *memo[K, V]) get(k K) (V, bool) {
	if v, ok := m.cur[k]; ok {
		return v, true
	}
	v, ok := m.prev[k]
	return v, ok
}

func (m *memo[K, V]) put(k K, v V) {
	if _, ok := m.cur[k]; !ok && len(m.cur) >= m.size {
		m.prev, m.cur = m.cur, make(map[K]V, m.size)
	}
	m.cur[k] = v
}
