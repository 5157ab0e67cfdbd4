// Package client connects command-line tools to a running controlmap
// server over gRPC, sending a bearer token with every call.
package client
