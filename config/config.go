// Package config loads the router's TOML configuration.
//
// A config file has one [router] table and one table per plugin instance:
//
//	[router]
//	data_dir = "./metlog-data"
//
//	[input.udp]              # kind "input", instance "udp", type "udp"
//	address = "127.0.0.1:5565"
//
//	[output.applog]          # instance "applog" of type "file"
//	type = "file"
//	match = "Type == 'oldstyle'"
//	path = "/var/log/app.log"
//
// Loading is strict: a key that no plugin knows, a value of the wrong type
// and a value that a plugin's Validate rejects are all errors, and every one
// of them is reported at once, each with the file, line and column it comes
// from (see Errors). ${NAME} and ${NAME:-default} are replaced by environment
// variables before parsing; $$ is a literal dollar sign.
//
// The package knows nothing about particular plugins: the caller passes a
// Catalog that maps each plugin type to a function returning its Config with
// defaults filled in. Each plugin table is decoded into a struct made of the
// kind's common keys (InputCommon, OutputCommon, AggregateCommon) and the
// plugin's own Config fields, so a plugin's Config never repeats them.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/match"
)

// Kind is the kind of a plugin table: the first part of its name.
type Kind string

// The plugin kinds, in the order the router starts them.
const (
	KindInput     Kind = "input"
	KindAggregate Kind = "aggregate"
	KindOutput    Kind = "output"
)

var kinds = []Kind{KindInput, KindAggregate, KindOutput}

// Catalog lists the plugin types a config may use: for each kind, a map from
// type name to a function that returns a pointer to a new Config struct of
// that plugin with its defaults set. Config structs use `toml` tags; if a
// Config has a method Validate() error, it is called after decoding.
type Catalog map[Kind]map[string]func() any

// Router is the [router] table.
type Router struct {
	// DataDir holds the journal and the store.
	DataDir string `toml:"data_dir"`
	// HTTP is the address of the HTTP ingest, API, web UI and /metrics.
	HTTP string `toml:"http"`
	// Sync is the journal's sync policy: "always", "batch" or "never".
	Sync string `toml:"sync"`
	// SyncInterval is how often the "batch" policy syncs.
	SyncInterval Duration `toml:"sync_interval"`
	// JournalMaxBytes bounds the journal on disk; when the slowest reader
	// lags by more, inputs apply backpressure or drop, as each is configured.
	JournalMaxBytes int64 `toml:"journal_max_bytes"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// Pprof serves Go's profiler under /debug/pprof/ on the HTTP address
	// (to admin tokens only when auth is on).
	Pprof bool `toml:"pprof"`
	// GCPercent is the Go garbage collector's target for `metlog router`
	// (GOGC): the heap grows by this percentage of the live heap between
	// collections. Higher spends less CPU on collection for more memory.
	// The GOGC environment variable, when set, wins.
	GCPercent int `toml:"gc_percent"`
	// MemoryLimit, in bytes, is a soft limit on the router's memory
	// (GOMEMLIMIT): near it, the collector runs as often as it must,
	// whatever GCPercent says. 0 is none; the GOMEMLIMIT environment
	// variable, when set, wins.
	MemoryLimit int64 `toml:"memory_limit"`
	// HTTPMaxConnections caps the connections open at once on the HTTP
	// address, and HTTPMaxConnectionsPerSource those of one client IP
	// address (IPv6: /64 network); more are closed when accepted. 0 is no
	// limit.
	HTTPMaxConnections          int `toml:"http_max_connections"`
	HTTPMaxConnectionsPerSource int `toml:"http_max_connections_per_source"`
	// TLS, when configured, serves the HTTP address over HTTPS; with
	// client_ca_file, clients must present a certificate. The files are
	// read again on SIGHUP.
	TLS input.TLS `toml:"tls"`
	// Auth turns on token authentication of the API, the web UI and
	// /metrics.
	Auth Auth `toml:"auth"`
}

// Auth is the [router.auth] table: where the tokens of the HTTP address
// come from. With no token configured, authentication is off. Admin tokens
// may do everything read tokens may, and change state (POST, PUT, PATCH,
// DELETE) and read /debug/pprof/. Token files hold one token per line
// (blank lines and lines starting with # are ignored) and are read again
// on SIGHUP; an environment variable holds one token. HTTP ingest is
// governed by each HTTP input's own tokens.
type Auth struct {
	// AdminTokensFile and ReadTokensFile are files of tokens.
	AdminTokensFile string `toml:"admin_tokens_file"`
	ReadTokensFile  string `toml:"read_tokens_file"`
	// AdminTokenEnv and ReadTokenEnv name environment variables that
	// hold a token, such as "METLOG_ADMIN_TOKEN".
	AdminTokenEnv string `toml:"admin_token_env"`
	ReadTokenEnv  string `toml:"read_token_env"`
}

// Enabled reports whether any token source is configured.
func (a *Auth) Enabled() bool {
	return a.AdminTokensFile != "" || a.ReadTokensFile != "" || a.AdminTokenEnv != "" || a.ReadTokenEnv != ""
}

//go:embed router.toml
var routerSample string

// RouterSample is the [router] table with every key at its default,
// documented.
func RouterSample() string { return routerSample }

// DefaultRouter returns the [router] settings used when the file has none.
func DefaultRouter() Router {
	return Router{
		DataDir:         "./metlog-data",
		HTTP:            "127.0.0.1:4352",
		Sync:            "batch",
		SyncInterval:    Duration(50 * time.Millisecond),
		JournalMaxBytes: 1 << 30,
		ShutdownTimeout: Duration(10 * time.Second),
		GCPercent:       400,

		HTTPMaxConnections:          1024,
		HTTPMaxConnectionsPerSource: 256,
	}
}

// Validate checks the [router] settings.
func (r *Router) Validate() error {
	var errs []error
	if r.DataDir == "" {
		errs = append(errs, errors.New("data_dir must not be empty"))
	}
	if !slices.Contains([]string{"always", "batch", "never"}, r.Sync) {
		errs = append(errs, fmt.Errorf("sync = %q: want \"always\", \"batch\" or \"never\"", r.Sync))
	}
	if r.Sync == "batch" && r.SyncInterval <= 0 {
		errs = append(errs, errors.New("sync_interval must be positive with sync = \"batch\""))
	}
	if r.JournalMaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("journal_max_bytes = %d: want at least 1 MiB", r.JournalMaxBytes))
	}
	if r.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown_timeout must be positive"))
	}
	if r.GCPercent < 25 || r.GCPercent > 10000 {
		errs = append(errs, fmt.Errorf("gc_percent = %d: want 25..10000", r.GCPercent))
	}
	if r.MemoryLimit != 0 && r.MemoryLimit < 64<<20 {
		errs = append(errs, fmt.Errorf("memory_limit = %d: want 0 (none) or at least 64 MiB", r.MemoryLimit))
	}
	if r.HTTPMaxConnections < 0 || r.HTTPMaxConnectionsPerSource < 0 {
		errs = append(errs, errors.New("http_max_connections and http_max_connections_per_source must not be negative"))
	}
	if err := r.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if r.Auth.Enabled() && r.Auth.AdminTokensFile == "" && r.Auth.AdminTokenEnv == "" {
		errs = append(errs, errors.New("auth: set admin_tokens_file or admin_token_env (read tokens alone leave no one able to administer)"))
	}
	return errors.Join(errs...)
}

// InputCommon holds the keys every input table accepts.
type InputCommon struct {
	// Type is the plugin type; it defaults to the instance name.
	Type string `toml:"type"`
}

// OutputCommon holds the keys every output table accepts; the router, not
// the plugin, implements them.
type OutputCommon struct {
	// Type is the plugin type; it defaults to the instance name.
	Type string `toml:"type"`
	// Match selects the messages the output receives (matcher language).
	Match string `toml:"match"`
	// BatchSize is the most messages handed to the output at once; the
	// lines of one statsd record (up to 512) are never split, so with
	// statsd traffic a batch may exceed it by up to 511.
	BatchSize int `toml:"batch_size"`
	// RetryInitial is the first delay after a failed delivery; it doubles,
	// with jitter, up to RetryMax.
	RetryInitial Duration `toml:"retry_initial"`
	// RetryMax caps the delay between retries.
	RetryMax Duration `toml:"retry_max"`
}

// AggregateCommon holds the keys every aggregator table accepts.
type AggregateCommon struct {
	// Type is the plugin type; it defaults to the instance name.
	Type string `toml:"type"`
	// Match selects the messages the aggregator reads.
	Match string `toml:"match"`
}

// Validate checks the matcher and the delivery settings.
func (c *OutputCommon) Validate() error {
	var errs []error
	if _, err := match.Compile(c.Match); err != nil {
		errs = append(errs, err) // "match: column 8: …"
	}
	if c.BatchSize < 1 || c.BatchSize > 1<<16 {
		errs = append(errs, fmt.Errorf("batch_size %d: want 1..65536", c.BatchSize))
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial {
		errs = append(errs, errors.New("retry_initial must be positive and retry_max at least retry_initial"))
	}
	return errors.Join(errs...)
}

// Validate checks the matcher.
func (c *AggregateCommon) Validate() error {
	if _, err := match.Compile(c.Match); err != nil {
		return err
	}
	return nil
}

func defaultCommon(k Kind) any {
	switch k {
	case KindInput:
		return &InputCommon{}
	case KindOutput:
		return &OutputCommon{
			Match:        "TRUE",
			BatchSize:    1024,
			RetryInitial: Duration(100 * time.Millisecond),
			RetryMax:     Duration(30 * time.Second),
		}
	}
	return &AggregateCommon{Match: "TRUE"}
}

// Plugin is one plugin table, decoded.
type Plugin struct {
	Kind Kind
	// Name is the instance name: "applog" in [output.applog].
	Name string
	// Type is the plugin type, the instance name unless `type` says otherwise.
	Type string
	// Line is where the table starts in the file.
	Line int
	// Common points to the kind's common keys: *InputCommon, *OutputCommon
	// or *AggregateCommon.
	Common any
	// Config points to the plugin's Config as the catalog returned it, with
	// the table's values decoded into it.
	Config any
}

// Config is a whole config file, decoded and validated.
type Config struct {
	// Path is the file it came from ("" for the embedded default).
	Path   string
	Router Router
	// Plugins are in file order within each kind; kinds in the order
	// input, aggregate, output.
	Plugins []Plugin
}

// Of returns the plugins of kind k.
func (c *Config) Of(k Kind) []Plugin {
	var out []Plugin
	for _, p := range c.Plugins {
		if p.Kind == k {
			out = append(out, p)
		}
	}
	return out
}

// Load reads and parses the file at path, substituting environment
// variables from the process environment.
func Load(path string, cat Catalog) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, cat, os.LookupEnv)
}

// Parse parses a config document. path is used in error messages only.
// lookupEnv resolves ${NAME}; nil means no variables are defined.
func Parse(path string, data []byte, cat Catalog, lookupEnv func(string) (string, bool)) (*Config, error) {
	p := &parser{path: path, cat: cat}
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	data = p.substitute(data, lookupEnv)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	p.headers = tableHeaders(data)

	var loose map[string]any
	if err := toml.Unmarshal(data, &loose); err != nil {
		p.addTOML(err, "")
		return nil, p.errs
	}
	cfg := &Config{Path: path, Router: DefaultRouter()}
	sections := p.sections(loose)
	if len(p.errs) > 0 {
		return nil, p.errs
	}

	// One strict pass over the whole document reports every unknown key;
	// one pass per table reports each table's type errors.
	root := looseType(p.rootType(sections))
	strict := reflect.New(root)
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	var sm *toml.StrictMissingError
	if err := dec.Decode(strict.Interface()); errors.As(err, &sm) {
		for i := range sm.Errors {
			p.addTOML(&sm.Errors[i], "unknown key")
		}
	}
	p.decodeRouter(data, &cfg.Router)
	for i := range sections {
		p.decodeSection(data, &sections[i])
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	for _, k := range kinds {
		for _, s := range sections {
			if s.Kind == k {
				cfg.Plugins = append(cfg.Plugins, s.Plugin)
			}
		}
	}
	return cfg, nil
}

type section struct {
	Plugin
	fields  []reflect.StructField // common fields then plugin fields
	nCommon int
}

type parser struct {
	path    string
	cat     Catalog
	headers map[string]int // "output.applog" → line
	errs    Errors
}

func (p *parser) errorf(line, col int, format string, args ...any) {
	p.errs = append(p.errs, Error{Path: p.path, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) addTOML(err error, prefix string) {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeErrRe.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("%s: want %s, got %s", strings.Join(de.Key(), "."), m[2], m[1])
		}
		if prefix != "" {
			msg = prefix + " " + strings.Join(de.Key(), ".")
		}
		p.errorf(line, col, "%s", msg)
		return
	}
	p.errorf(0, 0, "%v", err)
}

// sections finds the plugin tables and looks their types up in the catalog.
func (p *parser) sections(loose map[string]any) []section {
	var out []section
	for _, k := range kinds {
		tables, ok := loose[string(k)]
		if !ok {
			continue
		}
		m, ok := tables.(map[string]any)
		if !ok {
			p.errorf(p.headers[string(k)], 0, "%s must be a table of %s tables, such as [%s.name]", k, k, k)
			continue
		}
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		// File order, so that plugins start in the order they are written.
		slices.SortFunc(names, func(a, b string) int {
			return p.headers[string(k)+"."+a] - p.headers[string(k)+"."+b]
		})
		for _, name := range names {
			line := p.headers[string(k)+"."+name]
			body, ok := m[name].(map[string]any)
			if !ok {
				p.errorf(line, 0, "[%s.%s] must be a table", k, name)
				continue
			}
			typ := name
			if t, ok := body["type"].(string); ok && t != "" {
				typ = t
			}
			newConfig, ok := p.cat[k][typ]
			if !ok {
				p.errorf(line, 0, "[%s.%s]: unknown %s type %q (known: %s)", k, name, k, typ, strings.Join(known(p.cat[k]), ", "))
				continue
			}
			s := section{Plugin: Plugin{Kind: k, Name: name, Type: typ, Line: line,
				Common: defaultCommon(k), Config: newConfig()}}
			if reflect.TypeOf(s.Config).Kind() != reflect.Pointer || reflect.TypeOf(s.Config).Elem().Kind() != reflect.Struct {
				panic(fmt.Sprintf("config: catalog entry %s %q must return a pointer to a struct", k, typ))
			}
			s.fields = append(exportedFields(reflect.TypeOf(s.Common).Elem()), exportedFields(reflect.TypeOf(s.Config).Elem())...)
			s.nCommon = len(exportedFields(reflect.TypeOf(s.Common).Elem()))
			out = append(out, s)
		}
	}
	return out
}

func known(m map[string]func() any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// exportedFields lists the keys of a config struct. The fields of an
// embedded struct count as the struct's own (a shared block of keys, such as
// input.Signatures, is embedded into each plugin's Config).
func exportedFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, exportedFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		out = append(out, reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag})
	}
	return out
}

// instanceType is the struct a plugin table decodes into: the common keys
// followed by the plugin's own.
func (s *section) instanceType() reflect.Type {
	fields := slices.Clone(s.fields)
	for i := range fields {
		fields[i].Name = fmt.Sprintf("F%d", i)
	}
	return reflect.StructOf(fields)
}

// looseType is t with every value that is not a table replaced by any, so
// that a strict decode into it reports unknown keys and nothing else.
func looseType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return anyType
	}
	fields := make([]reflect.StructField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fields = append(fields, reflect.StructField{Name: f.Name, Type: looseType(f.Type), Tag: f.Tag})
	}
	return reflect.StructOf(fields)
}

var (
	anyType         = reflect.TypeFor[any]()
	textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

// rootType is the struct of the whole document, for the strict pass.
func (p *parser) rootType(sections []section) reflect.Type {
	var top []reflect.StructField
	top = append(top, reflect.StructField{Name: "Router", Type: reflect.TypeOf(Router{}), Tag: `toml:"router"`})
	for i, k := range kinds {
		var fields []reflect.StructField
		for j, s := range sections {
			if s.Kind == k {
				fields = append(fields, reflect.StructField{
					Name: fmt.Sprintf("S%d", j), Type: s.instanceType(),
					Tag: reflect.StructTag(fmt.Sprintf("toml:%q", s.Name)),
				})
			}
		}
		top = append(top, reflect.StructField{
			Name: fmt.Sprintf("K%d", i), Type: reflect.StructOf(fields),
			Tag: reflect.StructTag(fmt.Sprintf("toml:%q", string(k))),
		})
	}
	return reflect.StructOf(top)
}

func (p *parser) decodeRouter(data []byte, r *Router) {
	var doc struct {
		Router *Router `toml:"router"`
	}
	doc.Router = r
	if err := toml.Unmarshal(data, &doc); err != nil {
		p.addTOML(err, "")
		return
	}
	if err := r.Validate(); err != nil {
		p.validation("router", err)
	}
}

// decodeSection decodes one plugin table into its instance struct, copies
// the values into Common and Config, and validates them.
func (p *parser) decodeSection(data []byte, s *section) {
	inst := reflect.New(s.instanceType()).Elem()
	common := reflect.ValueOf(s.Common).Elem()
	conf := reflect.ValueOf(s.Config).Elem()
	// Start from the defaults.
	for i, f := range s.fields {
		src := common
		if i >= s.nCommon {
			src = conf
		}
		inst.Field(i).Set(src.FieldByName(f.Name))
	}
	doc := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "K", Tag: reflect.StructTag(fmt.Sprintf("toml:%q", string(s.Kind))),
		Type: reflect.StructOf([]reflect.StructField{{
			Name: "S", Type: reflect.PointerTo(inst.Type()),
			Tag: reflect.StructTag(fmt.Sprintf("toml:%q", s.Name)),
		}}),
	}}))
	doc.Elem().Field(0).Field(0).Set(inst.Addr())
	if err := toml.Unmarshal(data, doc.Interface()); err != nil {
		p.addTOML(err, "")
		return
	}
	for i, f := range s.fields {
		dst := common
		if i >= s.nCommon {
			dst = conf
		}
		dst.FieldByName(f.Name).Set(inst.Field(i))
	}
	if t := common.FieldByName("Type"); t.IsValid() {
		t.SetString(s.Type)
	}
	key := string(s.Kind) + "." + s.Name
	for _, c := range []any{s.Common, s.Config} {
		if v, ok := c.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				p.validation(key, err)
			}
		}
	}
}

// validation records each error a Validate method joined, at the line of
// the key it names when it starts with one ("path must not be empty").
func (p *parser) validation(table string, err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		line := p.headers[table]
		key, _, _ := strings.Cut(e.Error(), " ")
		key = strings.TrimSuffix(key, ":")
		if l, ok := p.headers[table+"#"+key]; ok {
			line = l
		}
		p.errorf(line, 0, "[%s]: %v", table, e)
	}
}

var (
	typeErrRe = regexp.MustCompile(`^cannot decode TOML (\w+) into .* of type (\S+)$`)
	headerRe  = regexp.MustCompile(`^\s*\[\s*([^\[\]#]+?)\s*\]\s*(#.*)?$`)
	keyRe     = regexp.MustCompile(`^\s*([A-Za-z0-9_-]+)\s*=`)
)

// tableHeaders maps each table name ("output.applog") to the line of its
// header, and each "table#key" to the line of the key, for error messages.
func tableHeaders(data []byte) map[string]int {
	out := map[string]int{}
	table := ""
	for i, line := range strings.Split(string(data), "\n") {
		if m := headerRe.FindStringSubmatch(line); m != nil {
			var parts []string
			for _, part := range strings.Split(m[1], ".") {
				parts = append(parts, strings.Trim(strings.TrimSpace(part), `"'`))
			}
			table = strings.Join(parts, ".")
			out[table] = i + 1
			if k, _, ok := strings.Cut(table, "."); ok {
				if _, seen := out[k]; !seen {
					out[k] = i + 1
				}
			}
			continue
		}
		if m := keyRe.FindStringSubmatch(line); m != nil && table != "" {
			out[table+"#"+m[1]] = i + 1
		}
	}
	return out
}

var envRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// substitute replaces ${NAME} and ${NAME:-default}, line by line so that
// error positions stay right. A value may not contain a newline.
func (p *parser) substitute(data []byte, lookup func(string) (string, bool)) []byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if !bytes.Contains(line, []byte("$")) {
			continue
		}
		lines[i] = envRe.ReplaceAllFunc(line, func(m []byte) []byte {
			if string(m) == "$$" {
				return []byte("$")
			}
			sub := envRe.FindSubmatch(m)
			name := string(sub[1])
			v, ok := lookup(name)
			if !ok || v == "" {
				if sub[2] != nil {
					return sub[3]
				}
				if !ok {
					p.errorf(i+1, 0, "environment variable %s is not set (use ${%s:-default} for a default)", name, name)
					return nil
				}
			}
			if strings.ContainsAny(v, "\r\n") {
				p.errorf(i+1, 0, "environment variable %s contains a newline", name)
				return nil
			}
			return []byte(v)
		})
	}
	return bytes.Join(lines, []byte("\n"))
}

// Error is one problem in a config file.
type Error struct {
	Path   string
	Line   int // 0 when unknown
	Column int // 0 when unknown
	Msg    string
}

func (e Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, in file order.
type Errors []Error

func (es Errors) Error() string {
	sorted := slices.Clone(es)
	slices.SortStableFunc(sorted, func(a, b Error) int { return a.Line - b.Line })
	msgs := make([]string, len(sorted))
	for i, e := range sorted {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// UnmarshalText parses a duration such as "250ms" or "1h30m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, such as \"10s\" or \"250ms\"", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
