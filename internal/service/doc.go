// Package service implements the gRPC services of controlmap.v1: it
// validates requests, resolves names and aliases against the current
// catalog snapshot, translates between protobuf messages and the domain,
// and turns every error into a gRPC status in one place (errors.go).
//
// Handlers hold no state beyond the store; they never talk to a network and
// never format HTTP: the gateway reaches them through the same interceptor
// chain as any gRPC client.
package service
