package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// instructions tell the assistant what the server is and how to read it.
const instructions = `controlmap knows security and AI-governance frameworks (ISO/IEC 27001:2022,
ISO/IEC 42001:2023, the NIST AI RMF 1.0, and any internal framework of the caller's
organization) control by control, and the reviewed mappings between them. Answer
questions about what a control satisfies, how much of a framework a program covers,
and why, from these tools only: never from memory. Relationships follow NIST IR 8477
set semantics, read "source RELATIONSHIP target": EQUAL, SUBSET_OF (the source
requires less than the target), SUPERSET_OF (more), INTERSECTS_WITH (overlap, neither
contains the other). FULL means implementing the source fully satisfies the target;
PARTIAL means it contributes but something is left to do. Inferred results go through
intermediate controls and carry their proof path (mapping names); explain shows each
mapping's justification. A coverage report is a statement about mappings, not a
compliance verdict or an audit opinion.`

// Options configure a server.
type Options struct {
	// Version of controlmap, reported to clients.
	Version string
	// Call prepares the context of each gRPC call, adding the caller's
	// credentials (nil: the connection adds them itself).
	Call func(context.Context) context.Context
}

// New returns an MCP server whose tools, resources and prompt answer
// through conn.
func New(conn grpc.ClientConnInterface, o Options) *mcp.Server {
	if o.Call == nil {
		o.Call = func(ctx context.Context) context.Context { return ctx }
	}
	a := &api{
		call:         o.Call,
		catalog:      cmv1.NewCatalogServiceClient(conn),
		crosswalk:    cmv1.NewCrosswalkServiceClient(conn),
		satisfaction: cmv1.NewSatisfactionServiceClient(conn),
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "controlmap", Title: "controlmap", Version: o.Version},
		&mcp.ServerOptions{Instructions: instructions})
	a.addTools(s)
	a.addResources(s)
	addPrompts(s)
	return s
}

// api holds the clients of the services the tools call.
type api struct {
	call         func(context.Context) context.Context
	catalog      cmv1.CatalogServiceClient
	crosswalk    cmv1.CrosswalkServiceClient
	satisfaction cmv1.SatisfactionServiceClient
}

// toolError turns a gRPC error into the message an assistant reads: the
// code and what the service said, with each field at fault named as the
// tool's argument (args maps the request's field names to the tool's
// where they differ).
func toolError(err error, args map[string]string) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var violations []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				violations = append(violations, argumentOf(v.GetField(), args)+": "+v.GetDescription())
			}
		}
	}
	if len(violations) == 0 {
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	return fmt.Errorf("%s: %s", st.Code(), strings.Join(violations, "; "))
}

// argumentOf renames the request field (or its prefix) to the argument.
func argumentOf(field string, args map[string]string) string {
	best := ""
	for f := range args {
		if (field == f || strings.HasPrefix(field, f+".") || strings.HasPrefix(field, f+"[")) && len(f) > len(best) {
			best = f
		}
	}
	if best == "" {
		return field
	}
	return args[best] + field[len(best):]
}

// enumName is an enum value without its type prefix (SUBSET_OF, FULL).
func enumName(v interface{ String() string }, prefix string) string {
	return strings.TrimPrefix(v.String(), prefix)
}
