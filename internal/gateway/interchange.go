package gateway

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// ImportChunk is the size of the pieces a REST import's body is passed on
// in.
const ImportChunk = 256 << 10

// The REST routes of InterchangeService. grpc-gateway streams responses as
// newline-delimited JSON and reads a client stream as a sequence of JSON
// messages; files need their bytes as they are, so these routes are
// served here, over the same in-process connection and interceptors.
const (
	importPath          = "/v1/imports"
	exportFrameworkPath = "/v1/{name=frameworks/*}:export"
	exportCrosswalkPath = "/v1/crosswalks/{source}/{target}:export"
)

// handleInterchange registers the import and export routes on mux.
func handleInterchange(mux *runtime.ServeMux, conn grpc.ClientConnInterface, receiveTimeout time.Duration) error {
	client := cmv1.NewInterchangeServiceClient(conn)
	m := newMarshaler()
	if err := mux.HandlePath(http.MethodPost, importPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		ctx, err := annotate(mux, r, cmv1.InterchangeService_Import_FullMethodName, importPath)
		if err != nil {
			runtime.HTTPError(r.Context(), mux, m, w, r, err)
			return
		}
		resp, md, err := restImport(ctx, client, r, pieceDeadline(w, receiveTimeout))
		ctx = runtime.NewServerMetadataContext(ctx, md)
		if err != nil {
			runtime.HTTPError(ctx, mux, m, w, r, err)
			return
		}
		runtime.ForwardResponseMessage(ctx, mux, m, w, r, resp)
	}); err != nil {
		return err
	}
	if err := mux.HandlePath(http.MethodGet, exportFrameworkPath, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		ctx, err := annotate(mux, r, cmv1.InterchangeService_ExportFramework_FullMethodName, exportFrameworkPath)
		if err == nil {
			err = onlyFormat(r.URL.Query())
		}
		if err != nil {
			runtime.HTTPError(r.Context(), mux, m, w, r, err)
			return
		}
		stream, err := client.ExportFramework(ctx, &cmv1.ExportFrameworkRequest{Name: params["name"], Format: r.URL.Query().Get("format")})
		forwardFile(ctx, mux, w, r, err, stream, func() (string, string, []byte, error) {
			msg, err := stream.Recv()
			return msg.GetContentType(), msg.GetFilename(), msg.GetData(), err
		})
	}); err != nil {
		return err
	}
	return mux.HandlePath(http.MethodGet, exportCrosswalkPath, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		ctx, err := annotate(mux, r, cmv1.InterchangeService_ExportCrosswalk_FullMethodName, exportCrosswalkPath)
		if err == nil {
			err = onlyFormat(r.URL.Query())
		}
		if err != nil {
			runtime.HTTPError(r.Context(), mux, m, w, r, err)
			return
		}
		stream, err := client.ExportCrosswalk(ctx, &cmv1.ExportCrosswalkRequest{Source: params["source"], Target: params["target"], Format: r.URL.Query().Get("format")})
		forwardFile(ctx, mux, w, r, err, stream, func() (string, string, []byte, error) {
			msg, err := stream.Recv()
			return msg.GetContentType(), msg.GetFilename(), msg.GetData(), err
		})
	})
}

// annotate is the outgoing context of a call, with the headers grpc-gateway
// forwards (Authorization, X-Request-Id) as metadata.
func annotate(mux *runtime.ServeMux, r *http.Request, method, pattern string) (context.Context, error) {
	return runtime.AnnotateContext(r.Context(), mux, r, method, runtime.WithHTTPPathPattern(pattern))
}

func onlyFormat(q url.Values) error {
	for k := range q {
		if k != "format" {
			return status.Errorf(codes.InvalidArgument, "unknown query parameter %q", catalog.Clip(k))
		}
	}
	return nil
}

// shorthands lets a query say mode=lenient or framework_kind=standard.
var shorthands = map[string]string{"mode": "IMPORT_MODE_", "framework_kind": "FRAMEWORK_KIND_", "frameworkKind": "FRAMEWORK_KIND_"}

// pieceDeadline returns what gives the next piece of a request's body its
// time to arrive: timeout from now (nothing when timeout is not positive).
func pieceDeadline(w http.ResponseWriter, timeout time.Duration) func() {
	rc := http.NewResponseController(w)
	return func() {
		if timeout > 0 {
			_ = rc.SetReadDeadline(time.Now().Add(timeout)) // unsupported by a test recorder: the server's timeout stays
		}
	}
}

// restImport reads the options from the query and sends the body to Import
// in chunks, calling next before it reads each.
func restImport(ctx context.Context, client cmv1.InterchangeServiceClient, r *http.Request, next func()) (*cmv1.ImportResponse, runtime.ServerMetadata, error) {
	var md runtime.ServerMetadata
	q := r.URL.Query()
	for k, prefix := range shorthands {
		if v := q.Get(k); v != "" && !strings.HasPrefix(strings.ToUpper(v), prefix) {
			q.Set(k, prefix+strings.ToUpper(v))
		}
	}
	opts := &cmv1.ImportOptions{}
	if err := (strictQuery{}).Parse(opts, q, utilities.NewDoubleArray(nil)); err != nil {
		return nil, md, status.Error(codes.InvalidArgument, err.Error())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Import(ctx)
	if err != nil {
		return nil, md, err
	}
	buf := make([]byte, ImportChunk)
	first := true
	for {
		next()
		n, rerr := io.ReadFull(r.Body, buf)
		if n > 0 || first {
			msg := &cmv1.ImportRequest{Chunk: buf[:n]}
			if first {
				msg.Options, first = opts, false
			}
			if err := stream.Send(msg); err != nil {
				break // the handler has answered: CloseAndRecv has its answer
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, md, status.Errorf(codes.InvalidArgument, "reading the request body: %v", rerr)
		}
	}
	resp, err := stream.CloseAndRecv()
	md.HeaderMD, _ = stream.Header()
	md.TrailerMD = stream.Trailer()
	return resp, md, err
}

// forwardFile answers with the file a stream of chunks carries: the first
// chunk's type and name as Content-Type and Content-Disposition, then the
// bytes as they come. An error before the first chunk is the usual error
// answer; one after it cuts the connection, so that a client never takes a
// truncated file for a whole one.
func forwardFile(ctx context.Context, mux *runtime.ServeMux, w http.ResponseWriter, r *http.Request, err error, stream grpc.ClientStream, recv func() (string, string, []byte, error)) {
	m := newMarshaler()
	if err != nil {
		runtime.HTTPError(ctx, mux, m, w, r, err)
		return
	}
	ctype, name, data, err := recv()
	var md runtime.ServerMetadata
	md.HeaderMD, _ = stream.Header()
	if err != nil {
		md.TrailerMD = stream.Trailer()
	}
	ctx = runtime.NewServerMetadataContext(ctx, md)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Internal, "the export sent nothing")
		}
		runtime.HTTPError(ctx, mux, m, w, r, err)
		return
	}
	for k, vs := range md.HeaderMD {
		if h, ok := outgoingHeader(k); ok && strings.EqualFold(h, RequestIDHeader) {
			w.Header()[RequestIDHeader] = vs
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	for {
		if _, err := w.Write(data); err != nil {
			return
		}
		if _, _, data, err = recv(); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			panic(http.ErrAbortHandler)
		}
	}
}
