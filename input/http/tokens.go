package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
)

// IngestToken is a token one source sends its messages with:
//
//	[[input.http.tokens]]
//	source = "billing"
//	token_file = "/etc/metlog/ingest/billing.token"
//
// Each source has its own token, so that one can be revoked or rotated
// without touching the others; a source may have several at once while it
// rotates.
type IngestToken struct {
	// Source names the sender; its messages carry it as field
	// ingest_source.
	Source string `toml:"source"`
	// TokenFile is a file holding the token (surrounding white space is
	// ignored); it is read again on SIGHUP.
	TokenFile string `toml:"token_file"`
	// TokenEnv names an environment variable holding the token.
	TokenEnv string `toml:"token_env"`
}

func validateTokens(ts []IngestToken) error {
	var errs []error
	for i, t := range ts {
		switch {
		case t.Source == "":
			errs = append(errs, fmt.Errorf("tokens[%d]: source must be set", i))
		case (t.TokenFile == "") == (t.TokenEnv == ""):
			errs = append(errs, fmt.Errorf("tokens[%d] (%s): set exactly one of token_file and token_env", i, t.Source))
		}
	}
	return errors.Join(errs...)
}

// tokenTable holds the SHA-256 digests of the ingest tokens, by source.
type tokenTable struct {
	digests [][sha256.Size]byte
	sources []string
}

// loadTokens reads the tokens; nil when none is configured.
func loadTokens(ts []IngestToken, getenv func(string) string) (*tokenTable, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	tt := &tokenTable{}
	var errs []error
	for _, t := range ts {
		var v string
		if t.TokenFile != "" {
			b, err := os.ReadFile(t.TokenFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("token of %s: %w", t.Source, err))
				continue
			}
			v = strings.TrimSpace(string(b))
		} else {
			v = strings.TrimSpace(getenv(t.TokenEnv))
		}
		if v == "" {
			errs = append(errs, fmt.Errorf("token of %s is empty", t.Source))
			continue
		}
		tt.digests = append(tt.digests, sha256.Sum256([]byte(v)))
		tt.sources = append(tt.sources, t.Source)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tt, nil
}

// source returns the source of token, comparing it with every token in
// constant time; ok is false for an unknown token.
func (tt *tokenTable) source(token string) (src string, ok bool) {
	d := sha256.Sum256([]byte(token))
	for i := range tt.digests {
		if subtle.ConstantTimeCompare(d[:], tt.digests[i][:]) == 1 {
			src, ok = tt.sources[i], true
		}
	}
	return src, ok && token != ""
}
