module github.com/metlog/metlog/bench

go 1.26.0

replace github.com/metlog/metlog => ../

require (
	github.com/DataDog/datadog-go/v5 v5.9.1
	github.com/cactus/go-statsd-client/v5 v5.1.0
	github.com/metlog/metlog v0.0.0-00010101000000-000000000000
	github.com/rs/zerolog v1.35.1
	go.uber.org/zap v1.28.0
)

require (
	github.com/Microsoft/go-winio v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/pelletier/go-toml/v2 v2.4.3 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
