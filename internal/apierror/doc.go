// Package apierror builds the errors the API answers: a gRPC status with
// a google.rpc.ErrorInfo whose reason is one of cmv1.ErrorReason, the one
// vocabulary of failure causes every layer (authentication, limits, the
// REST gateway, the services) uses.
package apierror
