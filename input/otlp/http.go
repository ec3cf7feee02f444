package otlp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/metlog/metlog/input"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The OTLP/HTTP paths.
const (
	LogsPath    = "/v1/logs"
	MetricsPath = "/v1/metrics"
)

// The OTLP/HTTP content types.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// Handler returns the OTLP/HTTP handler, which delivers to sink:
//
//	200  the export response, with partial_success when data points were rejected
//	400  the body does not decode (a google.rpc.Status says why)
//	405  not a POST;  404  another path
//	413  the body is over max_body_size
//	415  a Content-Type or Content-Encoding that is not OTLP's
//	503  the journal stayed full for full_timeout (with Retry-After)
//
// Responses are in the request's encoding, protobuf or JSON.
func (in *Input) Handler(sink input.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(LogsPath, func(w http.ResponseWriter, r *http.Request) { in.serve(w, r, sink, true) })
	mux.HandleFunc(MetricsPath, func(w http.ResponseWriter, r *http.Request) { in.serve(w, r, sink, false) })
	return mux
}

func (in *Input) serve(w http.ResponseWriter, r *http.Request, sink input.Sink, logs bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "OTLP/HTTP takes POST", http.StatusMethodNotAllowed)
		return
	}
	isJSON := false
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && mt == ContentTypeProtobuf:
	case err == nil && mt == ContentTypeJSON:
		isJSON = true
	default:
		in.fail(w, false, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported Content-Type %q (want %s or %s)", r.Header.Get("Content-Type"), ContentTypeProtobuf, ContentTypeJSON))
		return
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, in.cfg.MaxBodySize))
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			in.counters.Rejected(input.ReasonMalformed)
			in.fail(w, isJSON, http.StatusBadRequest, codes.InvalidArgument, "gzip: "+err.Error())
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, in.cfg.MaxBodySize+1)
	default:
		in.fail(w, isJSON, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported Content-Encoding %q (want gzip or none)", enc))
		return
	}
	data, err := io.ReadAll(body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(data)) > in.cfg.MaxBodySize {
		in.counters.Rejected(input.ReasonTooLarge)
		in.fail(w, isJSON, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, fmt.Sprintf("body over %d bytes", in.cfg.MaxBodySize))
		return
	}
	if err != nil {
		in.counters.Rejected(input.ReasonMalformed)
		in.fail(w, isJSON, http.StatusBadRequest, codes.InvalidArgument, "reading the body: "+err.Error())
		return
	}
	var resp proto.Message
	if logs {
		req := &collogspb.ExportLogsServiceRequest{}
		if err := in.unmarshal(data, isJSON, req); err != nil {
			in.fail(w, isJSON, http.StatusBadRequest, codes.InvalidArgument, err.Error())
			return
		}
		resp, err = in.exportLogs(requestContext(r), sink, req, len(data))
	} else {
		req := &colmetricspb.ExportMetricsServiceRequest{}
		if err := in.unmarshal(data, isJSON, req); err != nil {
			in.fail(w, isJSON, http.StatusBadRequest, codes.InvalidArgument, err.Error())
			return
		}
		resp, err = in.exportMetrics(requestContext(r), sink, req, len(data))
	}
	if err != nil {
		w.Header().Set("Retry-After", "1")
		in.fail(w, isJSON, http.StatusServiceUnavailable, codes.Unavailable, "not acknowledged (the messages may be stored later all the same): "+err.Error())
		return
	}
	in.write(w, isJSON, http.StatusOK, resp)
}

// unmarshal decodes a request body, counting one rejection when it does
// not decode.
func (in *Input) unmarshal(data []byte, isJSON bool, m proto.Message) error {
	var err error
	if isJSON {
		err = UnmarshalJSON(data, m)
	} else {
		err = proto.Unmarshal(data, m)
	}
	if err != nil {
		in.counters.Rejected(input.ReasonMalformed)
		return fmt.Errorf("decoding the request: %w", err)
	}
	return nil
}

// fail answers with a google.rpc.Status, as OTLP/HTTP asks.
func (in *Input) fail(w http.ResponseWriter, isJSON bool, code int, c codes.Code, msg string) {
	in.log.Debug("otlp request rejected", "status", code, "error", msg)
	in.write(w, isJSON, code, status.New(c, msg).Proto())
}

func (in *Input) write(w http.ResponseWriter, isJSON bool, code int, m proto.Message) {
	var body []byte
	var err error
	if isJSON {
		w.Header().Set("Content-Type", ContentTypeJSON)
		body, err = protojson.Marshal(m)
	} else {
		w.Header().Set("Content-Type", ContentTypeProtobuf)
		body, err = proto.Marshal(m)
	}
	if err != nil {
		in.log.Error("otlp response", "error", err)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// requestContext is r's context, carrying the name on the client's
// verified certificate.
func requestContext(r *http.Request) context.Context {
	if r.TLS == nil {
		return r.Context()
	}
	return context.WithValue(r.Context(), tlsClientKey{}, input.ClientName(r.TLS))
}
