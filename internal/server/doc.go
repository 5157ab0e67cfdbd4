// Package server wires controlmap together: it opens the store the
// configuration names, registers the services on the gRPC server and on the
// in-process connection of the REST facade, builds the one interceptor chain
// both use, and runs the two listeners until the context ends, then shuts
// down gracefully.
//
// It holds no business logic (internal/service) and no HTTP routing
// (internal/gateway).
package server
