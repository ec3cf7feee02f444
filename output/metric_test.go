package output

import (
	"testing"

	"github.com/metlog/metlog"
)

func TestMetricName(t *testing.T) {
	for _, tc := range []struct {
		fields []metlog.Field
		want   string
	}{
		{nil, ""},
		{[]metlog.Field{metlog.String("name", "hits")}, "hits"},
		{[]metlog.Field{metlog.Strings("name", "a", "b")}, "a"},
		{[]metlog.Field{metlog.Int("name", 3)}, ""},
		{[]metlog.Field{metlog.String("other", "x")}, ""},
	} {
		if got := MetricName(&metlog.Message{Fields: tc.fields}); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.fields, got, tc.want)
		}
	}
}

func TestMetricValue(t *testing.T) {
	for _, tc := range []struct {
		payload   string
		v         float64
		delta, ok bool
	}{
		{"5", 5, false, true},
		{" 2.5\n", 2.5, false, true},
		{"+5", 5, true, true},
		{"-3", -3, true, true},
		{"1e3", 1000, false, true},
		{"", 0, false, false},
		{"abc", 0, false, false},
		{"NaN", 0, false, false},
		{"+Inf", 0, false, false},
		{"1e999", 0, false, false},
	} {
		v, delta, ok := MetricValue(&metlog.Message{Payload: tc.payload})
		if v != tc.v || delta != tc.delta || ok != tc.ok {
			t.Errorf("%q: got %v %v %v, want %v %v %v", tc.payload, v, delta, ok, tc.v, tc.delta, tc.ok)
		}
	}
}

func TestSampleRate(t *testing.T) {
	for _, tc := range []struct {
		field *metlog.Field
		rate  float64
		ok    bool
	}{
		{nil, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeDouble, Doubles: []float64{0.25}}, 0.25, true},
		{&metlog.Field{Name: "rate", Type: metlog.TypeDouble, Doubles: []float64{1}}, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeDouble, Doubles: []float64{0}}, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeDouble, Doubles: []float64{-0.5}}, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeInteger, Integers: []int64{1}}, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeString, Strings: []string{" 0.5 "}}, 0.5, true},
		{&metlog.Field{Name: "rate", Type: metlog.TypeString, Strings: []string{"half"}}, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeBool, Bools: []bool{true}}, 0, false},
		{&metlog.Field{Name: "rate", Type: metlog.TypeDouble}, 0, false},
	} {
		m := &metlog.Message{}
		if tc.field != nil {
			m.Fields = []metlog.Field{*tc.field}
		}
		if rate, ok := SampleRate(m); rate != tc.rate || ok != tc.ok {
			t.Errorf("%+v: got %v %v, want %v %v", tc.field, rate, ok, tc.rate, tc.ok)
		}
	}
}
