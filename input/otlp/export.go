package otlp

import (
	"context"
	"strings"

	"github.com/metlog/metlog/input"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// exportLogs maps and stores the records of req; the error is the sink's.
func (in *Input) exportLogs(ctx context.Context, sink input.Sink, req *collogspb.ExportLogsServiceRequest, size int) (*collogspb.ExportLogsServiceResponse, error) {
	msgs := in.logMessages(req.ResourceLogs)
	if err := in.deliver(ctx, sink, msgs, size); err != nil {
		return nil, err
	}
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// exportMetrics maps and stores the data points of req; those that cannot
// be mapped are reported as a partial success.
func (in *Input) exportMetrics(ctx context.Context, sink input.Sink, req *colmetricspb.ExportMetricsServiceRequest, size int) (*colmetricspb.ExportMetricsServiceResponse, error) {
	res := in.metricMessages(req.ResourceMetrics)
	if err := in.deliver(ctx, sink, res.msgs, size); err != nil {
		return nil, err
	}
	resp := &colmetricspb.ExportMetricsServiceResponse{}
	if res.rejected > 0 || len(res.errs) > 0 {
		for range res.rejected {
			in.counters.Rejected(input.ReasonMalformed)
		}
		resp.PartialSuccess = &colmetricspb.ExportMetricsPartialSuccess{
			RejectedDataPoints: res.rejected,
			ErrorMessage:       strings.Join(res.errs, "; "),
		}
	}
	return resp, nil
}

// registerGRPC registers the OTLP logs and metrics services on gs.
func (in *Input) registerGRPC(gs *grpc.Server, sink input.Sink) {
	collogspb.RegisterLogsServiceServer(gs, &logsService{in: in, sink: sink})
	colmetricspb.RegisterMetricsServiceServer(gs, &metricsService{in: in, sink: sink})
}

type logsService struct {
	collogspb.UnimplementedLogsServiceServer
	in   *Input
	sink input.Sink
}

func (s *logsService) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	resp, err := s.in.exportLogs(ctx, s.sink, req, proto.Size(req))
	if err != nil {
		return nil, status.Error(codes.Unavailable, "not acknowledged (the messages may be stored later all the same): "+err.Error())
	}
	return resp, nil
}

type metricsService struct {
	colmetricspb.UnimplementedMetricsServiceServer
	in   *Input
	sink input.Sink
}

func (s *metricsService) Export(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	resp, err := s.in.exportMetrics(ctx, s.sink, req, proto.Size(req))
	if err != nil {
		return nil, status.Error(codes.Unavailable, "not acknowledged (the messages may be stored later all the same): "+err.Error())
	}
	return resp, nil
}
