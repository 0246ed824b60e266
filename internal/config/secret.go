package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/tandemhub/tandem/internal/secret"
)

// Secret-bearing positions are marked with a struct tag, read both when
// the file is decoded (a literal secret is warned about, a value there is
// never quoted in a problem) and by Secrets (what to mask in messages):
//
//	secret:"value"   the value is a secret: a token, a password, a key
//	secret:"dsn"     a connection string; the password it holds is a secret
//	secret:"header"  HTTP headers; those whose name says credential are secrets
//	secret:"block"   a block holding secrets: a scalar written in its
//	                 place is not quoted either

// Secrets are the secret values of every system, for a secret.Redactor:
// tokens, passwords (those inside connection strings too) and the values
// of credential headers.
func (c *Config) Secrets() []string {
	var out []string
	for _, name := range c.SystemNames() {
		out = append(out, c.Systems[name].Secrets()...)
	}
	return compact(out)
}

// Redactor masks the secrets of every system.
func (c *Config) Redactor() *secret.Redactor { return secret.New(c.Secrets()...) }

// Secrets are the secret values of s.
func (s *System) Secrets() []string {
	if s == nil {
		return nil
	}
	return SecretsOf(s)
}

// SecretsOf returns the values at the secret-bearing positions of v, a
// config struct or a pointer to one.
func SecretsOf(v any) []string {
	var out []string
	secretsOf(reflect.ValueOf(v), "", &out)
	return compact(out)
}

func secretsOf(v reflect.Value, kind string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			secretsOf(v.Elem(), kind, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				secretsOf(v.Field(i), f.Tag.Get("secret"), out)
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for _, k := range v.MapKeys() {
			sub := ""
			if kind == "header" && CredentialHeader(k.String()) {
				sub = "value"
			}
			secretsOf(v.MapIndex(k), sub, out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			secretsOf(v.Index(i), "", out)
		}
	case reflect.String:
		switch kind {
		case "value":
			*out = append(*out, v.String())
		case "dsn":
			*out = append(*out, secret.Passwords(v.String())...)
		}
	}
}

// CredentialHeader reports whether an HTTP header of this name carries a
// credential, so that its value is treated as a secret.
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "pass", "cookie", "signature", "session", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func compact(s []string) []string {
	s = slices.DeleteFunc(s, func(x string) bool { return x == "" })
	slices.Sort(s)
	return slices.Compact(s)
}
