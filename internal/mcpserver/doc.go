// Package mcpserver answers AI assistants over the Model Context Protocol
// with controlmap's own answers: tools that list frameworks, find
// controls, and ask satisfies, coverage, explain and crosswalk questions;
// each framework and crosswalk as a resource; and a gap-analysis prompt.
//
// Every tool is a thin call of the gRPC services through a connection it
// is given (the in-process connection of the REST facade for /mcp, a
// network connection for the stdio command), with the caller's own
// credentials, so authentication, scopes, limits, logging and metrics
// apply exactly as to any other call.
package mcpserver
