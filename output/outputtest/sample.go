package outputtest

import (
	"reflect"
	"testing"

	"github.com/metlog/metlog/config"
)

// CheckSample checks an output plugin's sample configuration: it must
// parse strictly as one [output.NAME] table of type typ and set exactly
// what defaults returns.
func CheckSample[C any](t *testing.T, typ, sample string, defaults func() C) {
	t.Helper()
	cat := config.Catalog{config.KindOutput: {typ: func() any { c := defaults(); return &c }}}
	cfg, err := config.Parse("sample.toml", []byte(sample), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs := cfg.Of(config.KindOutput)
	if len(outs) != 1 || outs[0].Type != typ {
		t.Fatalf("plugins %+v", outs)
	}
	got := outs[0].Config.(*C)
	if want := defaults(); !reflect.DeepEqual(*got, want) {
		t.Errorf("sample config\n%+v\nwant the defaults\n%+v", *got, want)
	}
}
