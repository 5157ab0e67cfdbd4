package mcpserver

import (
	"context"
	"net/http"

	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// HTTPOptions configure the streamable HTTP transport.
type HTTPOptions struct {
	Version string
	// Identify names the principal a bearer token belongs to; false for a
	// token that is no one's.
	Identify func(token string) (principal string, ok bool)
	// Anonymous lets a session open without a token (reads of public data,
	// as over REST).
	Anonymous bool
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
}

// HTTPHandler serves MCP's streamable HTTP transport. A session is bound
// to the principal that opened it: its tool calls carry that caller's
// Authorization header and address, and a later request of the session
// with another token (or none) is refused.
func HTTPHandler(conn grpc.ClientConnInterface, o HTTPOptions) http.Handler {
	streamable := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		authorization := r.Header.Get("Authorization")
		caller, hasPeer := peer.FromContext(r.Context())
		return New(conn, Options{Version: o.Version, Call: func(ctx context.Context) context.Context {
			if authorization != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
			}
			if hasPeer {
				ctx = peer.NewContext(ctx, caller)
			}
			return ctx
		}})
	}, &mcp.StreamableHTTPOptions{MaxRequestBodyBytes: o.MaxBodyBytes})
	verify := func(_ context.Context, token string, _ *http.Request) (*mcpauth.TokenInfo, error) {
		principal, ok := o.Identify(token)
		if !ok {
			return nil, mcpauth.ErrInvalidToken
		}
		return &mcpauth.TokenInfo{UserID: principal}, nil
	}
	withToken := mcpauth.RequireBearerToken(verify, &mcpauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(streamable)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "":
			withToken.ServeHTTP(w, r)
		case o.Anonymous:
			streamable.ServeHTTP(w, r)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="controlmap"`)
			http.Error(w, "a bearer token is required (Authorization: Bearer <API key or admin token>)", http.StatusUnauthorized)
		}
	})
}
