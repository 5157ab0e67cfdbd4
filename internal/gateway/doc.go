// Package gateway serves the REST facade: the grpc-gateway mux generated
// from the protos, /healthz, and the OpenAPI document.
//
// The mux calls the gRPC services through Conn, an in-process
// grpc.ClientConnInterface that runs the server's own unary interceptor
// chain (recovery, request id, logging, auth, consistency, errors) before the
// handler, with
// no network hop and no serialization. A REST call is therefore checked
// exactly like a gRPC call. The package never registers handlers that would
// bypass that chain.
package gateway
