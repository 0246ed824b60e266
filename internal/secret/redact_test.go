package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New("hunter2!", "p@ss w/rd", "abc", "")
	cases := []struct{ in, out string }{
		{"login with hunter2! failed", "login with *** failed"},
		{`token "hunter2!"`, `token "***"`},
		{"u:p%40ss+w%2Frd@h", "u:***@h"}, // query-escaped
		{"u:p@ss%20w%2Frd@h", "u:***@h"}, // path-escaped
		{"abc is too short to mask", "abc is too short to mask"},
		{"nothing here", "nothing here"},
	}
	for _, tc := range cases {
		if got := r.String(tc.in); got != tc.out {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
	var nilR *Redactor
	if got := nilR.String("hunter2!"); got != "hunter2!" {
		t.Errorf("nil Redactor changed text: %q", got)
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	r := New("secret", "secret-and-more")
	if got := r.String("x secret-and-more y secret"); got != "x *** y ***" {
		t.Errorf("got %q", got)
	}
}

func TestRedactorError(t *testing.T) {
	r := New("hunter2!")
	base := &fs.PathError{Op: "open", Path: "/run/hunter2!", Err: fs.ErrNotExist}
	err := r.Error(fmt.Errorf("read: %w", base))
	if strings.Contains(err.Error(), "hunter2!") || !strings.Contains(err.Error(), "open /run/***") {
		t.Errorf("Error() = %q", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the masked error hides its chain: %v", err)
	}
	plain := errors.New("no secret")
	if r.Error(plain) != plain { //nolint:errorlint // the very error given must come back, not one that wraps it
		t.Error("an error without a secret was wrapped")
	}
	if r.Error(nil) != nil {
		t.Error("nil became an error")
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestRedactorHandler(t *testing.T) {
	var buf bytes.Buffer
	r := New("hunter2!")
	log := slog.New(r.Handler(slog.NewTextHandler(&buf, nil)))
	log = log.With("dsn", "u:hunter2!@h")
	log.Info("connect with hunter2!", "err", errors.New("bad hunter2!"), "s", stringer("x hunter2!"),
		slog.Group("g", "pw", "hunter2!"), "n", 3, "m", map[string]string{"k": "hunter2!"})
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("log holds the secret:\n%s", out)
	}
	for _, want := range []string{`msg="connect with ***"`, `dsn=u:***@h`, `err="bad ***"`, `s="x ***"`, `g.pw=***`, `n=3`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestRedactorWriter(t *testing.T) {
	var buf bytes.Buffer
	w := New("hunter2!").Writer(&buf)
	n, err := fmt.Fprintf(w, "a hunter2! b\n")
	if err != nil || n != len("a hunter2! b\n") || buf.String() != "a *** b\n" {
		t.Errorf("wrote %d, %v: %q", n, err, buf.String())
	}
}
