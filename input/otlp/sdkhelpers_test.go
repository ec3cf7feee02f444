package otlp

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

func sdkmetricUnit(u string) metric.Int64CounterOption { return metric.WithUnit(u) }

func attributeSet(k, v string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String(k, v))
}
