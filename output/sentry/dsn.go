package sentry

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DSN is a parsed Sentry DSN, "https://KEY@host/PROJECT_ID" (http too, and
// a path before the project ID when Sentry is served under one). Its String
// method hides the key, so a DSN can be logged.
type DSN struct {
	scheme    string
	host      string // host[:port]
	path      string // prefix before the project ID, without the trailing slash
	publicKey string
	secretKey string // legacy DSNs carry KEY:SECRET
	project   string
}

// ParseDSN parses s. Only http and https DSNs are accepted: those are the
// ones an envelope can be sent to.
func ParseDSN(s string) (*DSN, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("dsn: %v", redactedParseError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("dsn: scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("dsn: no host")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("dsn: no public key (https://KEY@host/PROJECT_ID)")
	}
	secret, _ := u.User.Password()
	p := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 || p[i+1:] == "" {
		return nil, errors.New("dsn: no project ID (https://KEY@host/PROJECT_ID)")
	}
	return &DSN{scheme: u.Scheme, host: u.Host, path: p[:i], publicKey: u.User.Username(),
		secretKey: secret, project: p[i+1:]}, nil
}

// redactedParseError keeps url.Parse's reason but not the URL, which holds
// the key.
func redactedParseError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return errors.New("malformed")
}

// EnvelopeURL is where events for the DSN's project are sent.
func (d *DSN) EnvelopeURL() string {
	return d.scheme + "://" + d.host + d.path + "/api/" + url.PathEscape(d.project) + "/envelope/"
}

// AuthHeader is the X-Sentry-Auth header value for the DSN.
func (d *DSN) AuthHeader(client string) string {
	h := "Sentry sentry_version=7, sentry_client=" + client + ", sentry_key=" + d.publicKey
	if d.secretKey != "" {
		h += ", sentry_secret=" + d.secretKey
	}
	return h
}

// Project is the DSN's project ID.
func (d *DSN) Project() string { return d.project }

// envelopeDSN is the DSN as an envelope header carries it: with the public
// key, never the secret.
func (d *DSN) envelopeDSN() string {
	return d.scheme + "://" + d.publicKey + "@" + d.host + d.path + "/" + d.project
}

// String returns the DSN with its key hidden, for logs.
func (d *DSN) String() string {
	return d.scheme + "://***@" + d.host + d.path + "/" + d.project
}

// redactURL hides the user information of a URL-like string that may not
// parse, for logs.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "(not a URL)"
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = "***" + rest[at:]
	}
	return scheme + "://" + rest
}
