package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Redacted replaces the value of a secret in Effective.
const Redacted = "<redacted>"

// Effective returns the configuration in effect as a TOML document that
// Parse accepts: the [router] table and every plugin table in file order,
// each with all of its keys, defaults filled in and ${NAME} variables
// substituted, and every secret replaced by Redacted (see IsSecret).
func (c *Config) Effective() ([]byte, error) {
	top := []reflect.StructField{{Name: "Router", Type: reflect.TypeFor[Router](), Tag: `toml:"router"`}}
	values := []reflect.Value{redact(reflect.ValueOf(c.Router), "")}
	for i, k := range kinds {
		var fields []reflect.StructField
		var insts []reflect.Value
		for j, p := range c.Of(k) {
			inst := instanceOf(p)
			fields = append(fields, reflect.StructField{
				Name: fmt.Sprintf("S%d", j), Type: inst.Type(),
				Tag: reflect.StructTag(fmt.Sprintf("toml:%q", p.Name)),
			})
			insts = append(insts, inst)
		}
		if len(fields) == 0 {
			continue
		}
		kind := reflect.New(reflect.StructOf(fields)).Elem()
		for j, v := range insts {
			kind.Field(j).Set(v)
		}
		top = append(top, reflect.StructField{
			Name: fmt.Sprintf("K%d", i), Type: kind.Type(),
			Tag: reflect.StructTag(fmt.Sprintf("toml:%q", string(k))),
		})
		values = append(values, kind)
	}
	doc := reflect.New(reflect.StructOf(top)).Elem()
	for i, v := range values {
		doc.Field(i).Set(v)
	}
	out, err := toml.Marshal(doc.Interface())
	if err != nil {
		return nil, fmt.Errorf("config: effective: %w", err)
	}
	return out, nil
}

// instanceOf returns a redacted copy of p's keys as one struct: the common
// keys followed by the plugin's own, as the table decoded them.
func instanceOf(p Plugin) reflect.Value {
	var fields []reflect.StructField
	var values []reflect.Value
	for _, src := range []any{p.Common, p.Config} {
		if src == nil {
			continue
		}
		v := reflect.ValueOf(src)
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		for _, f := range exportedFields(v.Type()) {
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", len(fields)), Type: f.Type, Tag: f.Tag})
			values = append(values, redact(v.FieldByName(f.Name), tomlKey(f)))
		}
	}
	inst := reflect.New(reflect.StructOf(fields)).Elem()
	for i, v := range values {
		inst.Field(i).Set(v)
	}
	return inst
}

// tomlKey is the key a struct field is read from.
func tomlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// IsSecret reports whether a key holds a secret by its name: one of its
// words (separated by "_") is key, keys, secret, password, passwd, token,
// tokens, dsn or credentials, and its last word does not say that the value
// only names where the secret is (file, path, dir, env, id, header).
// "signing_key" and "dsn" are secrets; "key_file" and "token_env" are not.
func IsSecret(key string) bool {
	words := strings.Split(strings.ToLower(key), "_")
	switch words[len(words)-1] {
	case "file", "files", "path", "dir", "env", "id", "header", "version", "name":
		return false
	}
	return slices.ContainsFunc(words, func(w string) bool {
		switch w {
		case "key", "keys", "secret", "secrets", "password", "passwd", "token", "tokens", "dsn", "credentials":
			return true
		}
		return false
	})
}

// redact returns a copy of v with every secret replaced: strings (and
// string slices) under a secret key, and the user information of any URL.
// Nothing v refers to is modified.
func redact(v reflect.Value, key string) reflect.Value {
	secret := key != "" && IsSecret(key)
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if strings.Contains(s, "://") {
			if r := redactURL(s); r != s || !secret {
				out.SetString(r) // a secret in a URL is its user information
				return out
			}
		}
		if secret && s != "" {
			s = Redacted
		}
		out.SetString(s)
		return out
	case reflect.Struct:
		if v.Type().Implements(textMarshaler) {
			return v // a scalar such as Duration
		}
		out.Set(v)
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				k := tomlKey(f)
				if f.Anonymous {
					k = key
				}
				out.Field(i).Set(redact(v.Field(i), k))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
		for i := range v.Len() {
			out.Index(i).Set(redact(v.Index(i), key))
		}
		return out
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(redact(v.Index(i), key))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
		for it := v.MapRange(); it.Next(); {
			k := key
			if it.Key().Kind() == reflect.String {
				k = it.Key().String()
				if strings.EqualFold(k, "authorization") {
					k = "token"
				}
			}
			out.SetMapIndex(it.Key(), redact(it.Value(), k))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.New(v.Type().Elem()))
		out.Elem().Set(redact(v.Elem(), key))
		return out
	}
	return v
}

var textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()

// redactURL hides the user information of a URL ("https://key@host/1"
// becomes "https://REDACTED@host/1", which is still a valid URL).
func redactURL(s string) string {
	i := strings.Index(s, "://")
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return s
	}
	return s[:i+3] + "REDACTED" + rest[at:]
}
