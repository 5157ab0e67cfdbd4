package mcpserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Errors of HTTPOptions.Authenticate.
var (
	// ErrUnauthenticated: the token is no one's (unknown, revoked or
	// expired).
	ErrUnauthenticated = errors.New("the bearer token is not valid")
	// ErrTooManyFailures: the caller's address presented bad tokens too
	// often; it may try again shortly.
	ErrTooManyFailures = errors.New("too many failed authentications from this address; retry later")
)

// RetryAfter is ErrTooManyFailures with the seconds until the address may
// present a credential again.
type RetryAfter struct{ Seconds int }

func (e RetryAfter) Error() string { return ErrTooManyFailures.Error() }
func (e RetryAfter) Unwrap() error { return ErrTooManyFailures }

// HTTPOptions configure the streamable HTTP transport.
type HTTPOptions struct {
	Version string
	// Authenticate checks a bearer token as the API does, counting a bad
	// one against the caller's address (the request context carries it).
	Authenticate func(ctx context.Context, token string) error
	// Anonymous lets a request without a token through (reads of public
	// data, as over REST).
	Anonymous bool
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// BehindProxy turns off the protection against DNS rebinding (a
	// request that arrives on a loopback address for another host name is
	// refused), which would refuse a proxy or sidecar on the same host.
	BehindProxy bool
}

type authorizationKey struct{}

// HTTPHandler serves MCP's streamable HTTP transport, stateless: every
// request is authenticated on its own and its tool calls carry its own
// Authorization header, so nothing is kept between requests that another
// caller could take over, and no stream stays open.
func HTTPHandler(conn grpc.ClientConnInterface, o HTTPOptions) http.Handler {
	srv := New(conn, Options{Version: o.Version, Call: func(ctx context.Context) context.Context {
		if a, ok := ctx.Value(authorizationKey{}).(string); ok {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
		}
		return ctx
	}})
	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless: true, MaxRequestBodyBytes: o.MaxBodyBytes, DisableLocalhostProtection: o.BehindProxy})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			if !o.Anonymous {
				w.Header().Set("WWW-Authenticate", `Bearer realm="controlmap"`)
				http.Error(w, "a bearer token is required (Authorization: Bearer <API key or admin token>)", http.StatusUnauthorized)
				return
			}
			streamable.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
			http.Error(w, `the Authorization header must be "Bearer <API key>"`, http.StatusUnauthorized)
			return
		}
		switch err := o.Authenticate(r.Context(), token); {
		case errors.Is(err, ErrTooManyFailures):
			retry := RetryAfter{Seconds: 1}
			errors.As(err, &retry)
			w.Header().Set("Retry-After", strconv.Itoa(retry.Seconds))
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="controlmap", error="invalid_token"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		streamable.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authorizationKey{}, header)))
	})
}
