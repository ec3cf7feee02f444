package web

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"

	"github.com/metlog/metlog/config"
)

// Role is what a token may do on the router's HTTP address.
type Role uint8

// The roles, each allowed what the ones before it are.
const (
	RoleNone  Role = iota // no valid token
	RoleRead              // read: the UI, GET /api/..., /metrics
	RoleAdmin             // also change state and read /debug/pprof/
)

// String returns "none", "read" or "admin".
func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Tokens are the tokens of each role, kept only as SHA-256 digests, so
// that neither the comparison's timing nor a memory dump gives a token
// away. A nil *Tokens means authentication is off.
type Tokens struct {
	digests [][sha256.Size]byte
	roles   []Role
}

// LoadTokens reads the tokens a [router.auth] table names, looking
// environment variables up with getenv. It returns nil, nil when the table
// configures no token source; a configured source that yields no token is
// an error, so that a mistyped variable never turns authentication off.
func LoadTokens(a config.Auth, getenv func(string) string) (*Tokens, error) {
	if !a.Enabled() {
		return nil, nil
	}
	t := &Tokens{}
	var errs []error
	file := func(path string, role Role) {
		if path == "" {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("auth: %w", err))
			return
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			t.add(string(line), role)
			n++
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("auth: %s holds no token", path))
		}
	}
	env := func(name string, role Role) {
		if name == "" {
			return
		}
		v := string(bytes.TrimSpace([]byte(getenv(name))))
		if v == "" {
			errs = append(errs, fmt.Errorf("auth: environment variable %s is empty or unset", name))
			return
		}
		t.add(v, role)
	}
	file(a.AdminTokensFile, RoleAdmin)
	file(a.ReadTokensFile, RoleRead)
	env(a.AdminTokenEnv, RoleAdmin)
	env(a.ReadTokenEnv, RoleRead)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// NewTokens returns Tokens holding the given tokens of each role.
func NewTokens(admin, read []string) *Tokens {
	t := &Tokens{}
	for _, s := range admin {
		t.add(s, RoleAdmin)
	}
	for _, s := range read {
		t.add(s, RoleRead)
	}
	return t
}

func (t *Tokens) add(token string, role Role) {
	t.digests = append(t.digests, sha256.Sum256([]byte(token)))
	t.roles = append(t.roles, role)
}

// Role returns the role of token, RoleNone for an unknown or empty one.
// It compares token with every known token in constant time and in full,
// so its timing says nothing about which token is near.
func (t *Tokens) Role(token string) Role {
	if token == "" {
		return RoleNone
	}
	d := sha256.Sum256([]byte(token))
	role := RoleNone
	for i := range t.digests {
		if subtle.ConstantTimeCompare(d[:], t.digests[i][:]) == 1 && t.roles[i] > role {
			role = t.roles[i]
		}
	}
	return role
}
