package router

import (
	"testing"

	"github.com/metlog/metlog/config"
)

// Every plugin's sample configuration is a valid config on its own, and the
// embedded default parses.
func TestSamples(t *testing.T) {
	for _, p := range Plugins() {
		if p.Sample == "" {
			t.Errorf("%s %s has no sample", p.Kind, p.Type)
			continue
		}
		cfg, err := config.Parse(p.Type+".toml", []byte(p.Sample), Catalog(), nil)
		if err != nil {
			t.Errorf("%s %s sample: %v", p.Kind, p.Type, err)
			continue
		}
		if got := cfg.Of(p.Kind); len(got) != 1 || got[0].Type != p.Type {
			t.Errorf("%s %s sample configures %+v", p.Kind, p.Type, got)
		}
	}
	if cfg := DefaultConfig(); len(cfg.Plugins) == 0 {
		t.Error("empty default config")
	}
}

// No plugin type is registered twice across kinds' tables in a way that
// would make `type` ambiguous within a kind (maps make duplicates within a
// kind impossible; this guards the catalog against dropping one).
func TestCatalogComplete(t *testing.T) {
	cat := Catalog()
	if len(cat[config.KindInput]) != len(inputPlugins) || len(cat[config.KindOutput]) != len(outputPlugins) ||
		len(cat[config.KindAggregate]) != len(aggregatePlugins) {
		t.Error("catalog and plugin tables differ")
	}
}
