package secret

import (
	"net/url"
	"strings"
)

// Mask is what a secret is replaced by.
const Mask = "***"

// span is a byte range [i, j) of a string.
type span struct{ i, j int }

// DSN returns s with every password it holds replaced by Mask. It reads
// the three forms connection strings take:
//
//   - URL: scheme://user:password@host/…, several separated by commas
//     as NATS takes them, and password= in the query. A password
//     holding an unescaped @ is masked up to the last @ before the host.
//   - MySQL: user:password@tcp(host:3306)/db?….
//   - keyword=value: host=h user=u password=p, the value quoted or not.
//
// It never fails: a string it cannot read has what looks like a
// password masked all the same.
func DSN(s string) string {
	spans := passwordSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.i])
		b.WriteString(Mask)
		last = sp.j
	}
	b.WriteString(s[last:])
	return b.String()
}

// Passwords returns the passwords s holds as written and, when they
// differ, percent-decoded or unquoted: the forms a message might quote.
func Passwords(s string) []string {
	var out []string
	for _, sp := range passwordSpans(s) {
		p := s[sp.i:sp.j]
		if p == "" {
			continue
		}
		out = append(out, p)
		if u, err := url.PathUnescape(p); err == nil && u != p {
			out = append(out, u)
		}
		if len(p) >= 2 && p[0] == '\'' && p[len(p)-1] == '\'' {
			out = append(out, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(p[1:len(p)-1]))
		}
	}
	return out
}

// URLUserinfo returns where the userinfo (user:password) of a URL DSN
// like scheme://user:password@host/db starts and ends. It ends at the
// last @ before the query, so that a password holding an unescaped @
// stays whole. ok is false when s is not a URL or names no user.
func URLUserinfo(s string) (start, end int, ok bool) {
	if !hasScheme(s) {
		return 0, 0, false
	}
	a := strings.Index(s, "://") + 3
	f := strings.IndexByte(s[a:], '@')
	if f < 0 {
		return 0, 0, false
	}
	q := len(s)
	if k := strings.IndexAny(s[a+f:], "?#"); k >= 0 {
		q = a + f + k
	}
	return a, strings.LastIndexByte(s[:q], '@'), true
}

// passwordSpans finds the passwords of s, in order and not overlapping.
func passwordSpans(s string) []span {
	if !hasScheme(s) {
		var out []span
		if sp, ok := mysqlPassword(s); ok {
			out = append(out, sp)
		}
		for _, sp := range keywordSpans(s, 0, " \t\r\n") {
			if len(out) == 0 || sp.i >= out[0].j {
				out = append(out, sp)
			}
		}
		return out
	}
	var out []span
	for _, seg := range urlSegments(s) {
		u := s[seg.i:seg.j]
		query := strings.IndexByte(u, '?')
		if start, end, ok := URLUserinfo(u); ok {
			if c := strings.IndexByte(u[start:end], ':'); c >= 0 {
				out = append(out, span{seg.i + start + c + 1, seg.i + end})
			}
			query = strings.IndexByte(u[end:], '?')
			if query >= 0 {
				query += end
			}
		}
		if query >= 0 {
			for _, sp := range keywordSpans(u, query, "&#") {
				out = append(out, span{seg.i + sp.i, seg.i + sp.j})
			}
		}
	}
	return out
}

// urlSegments splits a comma-separated list of URLs.
func urlSegments(s string) []span {
	var out []span
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ',' && hasScheme(s[i+1:]) {
			out = append(out, span{start, i})
			start = i + 1
		}
	}
	return append(out, span{start, len(s)})
}

// hasScheme reports whether s, blanks aside, starts with scheme://.
func hasScheme(s string) bool {
	s = strings.TrimLeft(s, " \t")
	k := strings.Index(s, "://")
	if k <= 0 {
		return false
	}
	for i := range k {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || (c < '0' || c > '9') && c != '+' && c != '-' && c != '.') {
			return false
		}
	}
	return true
}

// mysqlPassword finds the password of user:password@net(addr)/db?…: the
// text after the first : of what precedes the last @ before the last /.
func mysqlPassword(s string) (span, bool) {
	head := s
	if q := strings.LastIndexByte(head, '/'); q >= 0 {
		head = head[:q]
	}
	l := strings.LastIndexByte(head, '@')
	if l < 0 {
		return span{}, false
	}
	c := strings.IndexByte(head[:l], ':')
	if c < 0 {
		return span{}, false
	}
	return span{c + 1, l}, true
}

// keywordSpans finds the values of password= and sslpassword= in s from
// byte from on: a keyword=value string (stop " \t\r\n", values may be
// quoted with ') or a URL query (stop "&#").
func keywordSpans(s string, from int, stop string) []span {
	var out []span
	lower := asciiLower(s) // same length as s, unlike strings.ToLower
	quoting := !strings.Contains(stop, "&")
	for i := from; i < len(s); {
		k := strings.Index(lower[i:], "password")
		if k < 0 {
			break
		}
		k += i
		i = k + len("password")
		begin := k
		if strings.HasSuffix(lower[:k], "ssl") {
			begin -= 3
		}
		if begin > 0 && !strings.ContainsRune(" \t\r\n?&;", rune(s[begin-1])) {
			continue
		}
		v := skipBlanks(s, i)
		if v >= len(s) || s[v] != '=' {
			continue
		}
		v++
		if quoting {
			v = skipBlanks(s, v)
		}
		e := v
		if quoting && e < len(s) && s[e] == '\'' {
			for e++; e < len(s) && s[e] != '\''; e++ {
				if s[e] == '\\' {
					e++
				}
			}
			e = min(e+1, len(s))
		} else {
			for e < len(s) && !strings.ContainsRune(stop, rune(s[e])) {
				e++
			}
		}
		if e > v {
			out = append(out, span{v, e})
		}
		i = e
	}
	return out
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
