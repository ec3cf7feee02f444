package router

import (
	_ "embed"
	"log/slog"
	"maps"
	"slices"

	"github.com/metlog/metlog/aggregate/exceptions"
	statsdagg "github.com/metlog/metlog/aggregate/statsd"
	"github.com/metlog/metlog/config"
	httpin "github.com/metlog/metlog/input/http"
	natsin "github.com/metlog/metlog/input/nats"
	otlpin "github.com/metlog/metlog/input/otlp"
	statsdin "github.com/metlog/metlog/input/statsd"
	syslogin "github.com/metlog/metlog/input/syslog"
	"github.com/metlog/metlog/input/tail"
	"github.com/metlog/metlog/input/tcp"
	"github.com/metlog/metlog/input/udp"
	"github.com/metlog/metlog/input/zeromq"
	carbonout "github.com/metlog/metlog/output/carbon"
	"github.com/metlog/metlog/output/clickhouse"
	"github.com/metlog/metlog/output/file"
	natsout "github.com/metlog/metlog/output/nats"
	otlpout "github.com/metlog/metlog/output/otlp"
	parquetout "github.com/metlog/metlog/output/parquet"
	promout "github.com/metlog/metlog/output/prometheus"
	"github.com/metlog/metlog/output/sentry"
	statsdout "github.com/metlog/metlog/output/statsd"
	"github.com/metlog/metlog/output/stdout"
	syslogout "github.com/metlog/metlog/output/syslog"
	tcpout "github.com/metlog/metlog/output/tcp"
	"github.com/metlog/metlog/store"
	"github.com/metlog/metlog/web"
)

// The plugins the router knows, by type name. This is the one place a new
// plugin is added.
var (
	inputPlugins = map[string]plugin[Input]{
		"http":   inputOf(httpin.Defaults, httpin.New, httpin.Sample),
		"nats":   inputOf(natsin.Defaults, natsin.New, natsin.Sample),
		"otlp":   inputOf(otlpin.Defaults, otlpin.New, otlpin.Sample),
		"statsd": inputOf(statsdin.Defaults, statsdin.New, statsdin.Sample),
		"syslog": inputOf(syslogin.Defaults, syslogin.New, syslogin.Sample),
		"tail":   inputOf(tail.Defaults, tail.New, tail.Sample),
		"tcp":    inputOf(tcp.Defaults, tcp.New, tcp.Sample),
		"udp":    inputOf(udp.Defaults, udp.New, udp.Sample),
		"zeromq": inputOf(zeromq.Defaults, zeromq.New, zeromq.Sample),
	}
	aggregatePlugins = map[string]plugin[Aggregator]{
		"exceptions": aggregateOf(exceptions.Defaults, exceptions.New, exceptions.Sample),
		"statsd":     aggregateOf(statsdagg.Defaults, statsdagg.New, statsdagg.Sample),
	}
	outputPlugins = map[string]plugin[Output]{
		"carbon":     outputOf(carbonout.Defaults, carbonout.New, carbonout.Sample),
		"clickhouse": outputOf(clickhouse.Defaults, clickhouse.New, clickhouse.Sample),
		"file":       outputOf(file.Defaults, file.New, file.Sample),
		"nats":       outputOf(natsout.Defaults, natsout.New, natsout.Sample),
		"otlp":       outputOf(otlpout.Defaults, otlpout.New, otlpout.Sample),
		"parquet":    outputOf(parquetout.Defaults, parquetout.New, parquetout.Sample),
		"prometheus": outputOf(promout.Defaults, promout.New, promout.Sample),
		"sentry":     outputOf(sentry.Defaults, sentry.New, sentry.Sample),
		"statsd":     outputOf(statsdout.Defaults, statsdout.New, statsdout.Sample),
		"store":      outputOf(store.Defaults, web.New, store.Sample),
		"stdout":     outputOf(stdout.Defaults, stdout.New, stdout.Sample),
		"syslog":     outputOf(syslogout.Defaults, syslogout.New, syslogout.Sample),
		"tcp":        outputOf(tcpout.Defaults, tcpout.New, tcpout.Sample),
	}
)

// plugin describes one plugin type: its default Config, how to build it
// from a decoded Config, and its sample configuration.
type plugin[T any] struct {
	// defaults returns a pointer to a new Config with defaults set.
	defaults func() any
	// build makes the plugin from what defaults returned, decoded.
	build  func(cfg any, log *slog.Logger) (T, error)
	sample func() string
}

func inputOf[C any, P Input](defaults func() C, build func(C, *slog.Logger) (P, error), sample func() string) plugin[Input] {
	return pluginOf[C, P, Input](defaults, build, sample)
}

func aggregateOf[C any, P Aggregator](defaults func() C, build func(C, *slog.Logger) (P, error), sample func() string) plugin[Aggregator] {
	return pluginOf[C, P, Aggregator](defaults, build, sample)
}

func outputOf[C any, P Output](defaults func() C, build func(C, *slog.Logger) (P, error), sample func() string) plugin[Output] {
	return pluginOf[C, P, Output](defaults, build, sample)
}

// pluginOf adapts a plugin package's Defaults, New and Sample functions.
func pluginOf[C any, P any, T any](defaults func() C, build func(C, *slog.Logger) (P, error), sample func() string) plugin[T] {
	return plugin[T]{
		defaults: func() any { c := defaults(); return &c },
		build: func(cfg any, log *slog.Logger) (T, error) {
			p, err := build(*cfg.(*C), log)
			if err != nil {
				var zero T
				return zero, err
			}
			return any(p).(T), nil
		},
		sample: sample,
	}
}

// Catalog is the config catalog of every plugin the router knows.
func Catalog() config.Catalog {
	cat := config.Catalog{
		config.KindInput:     {},
		config.KindAggregate: {},
		config.KindOutput:    {},
	}
	for name, p := range aggregatePlugins {
		cat[config.KindAggregate][name] = p.defaults
	}
	for name, p := range inputPlugins {
		cat[config.KindInput][name] = p.defaults
	}
	for name, p := range outputPlugins {
		cat[config.KindOutput][name] = p.defaults
	}
	return cat
}

// PluginInfo is a plugin type and its sample configuration.
type PluginInfo struct {
	Kind   config.Kind
	Type   string
	Sample string
}

// Plugins lists every plugin type with its sample configuration, sorted by
// kind and type.
func Plugins() []PluginInfo {
	var out []PluginInfo
	for _, name := range slices.Sorted(maps.Keys(inputPlugins)) {
		out = append(out, PluginInfo{config.KindInput, name, inputPlugins[name].sample()})
	}
	for _, name := range slices.Sorted(maps.Keys(aggregatePlugins)) {
		out = append(out, PluginInfo{config.KindAggregate, name, aggregatePlugins[name].sample()})
	}
	for _, name := range slices.Sorted(maps.Keys(outputPlugins)) {
		out = append(out, PluginInfo{config.KindOutput, name, outputPlugins[name].sample()})
	}
	return out
}

//go:embed default.toml
var defaultConfig []byte

// DefaultConfigText is the embedded default configuration, as TOML.
func DefaultConfigText() string { return string(defaultConfig) }

// DefaultConfig is the configuration `metlog router` runs without a file.
func DefaultConfig() *config.Config {
	cfg, err := config.Parse("(embedded default)", defaultConfig, Catalog(), nil)
	if err != nil {
		panic("router: embedded default config: " + err.Error())
	}
	return cfg
}
