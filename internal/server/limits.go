package server

import (
	"context"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/mcpserver"
)

// maxBuckets bounds the rate limiter's memory (a burst of new anonymous
// addresses cannot grow it without end): past it, full buckets, which are
// no different from new ones, are dropped; callers being throttled keep
// theirs.
const maxBuckets = 100_000

// rateLimiter gives every caller a token bucket: each API key (and the
// operator's token) its own, anonymous callers one per network address.
type rateLimiter struct {
	limit   rate.Limit
	burst   int
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// newRateLimiter gives each key a bucket of perSecond tokens a second,
// holding twice that (at least one).
func newRateLimiter(perSecond float64) *rateLimiter {
	return &rateLimiter{limit: rate.Limit(perSecond), burst: max(1, int(2*perSecond)), buckets: map[string]*rate.Limiter{}}
}

func (l *rateLimiter) bucket(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			for k, v := range l.buckets {
				if v.Tokens() >= float64(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= maxBuckets {
			clear(l.buckets) // every caller is being throttled: start over
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	return b
}

// interceptor answers RESOURCE_EXHAUSTED (429 over REST, with Retry-After)
// to a caller over its rate: each key, and each address of anonymous
// callers. Health checks and reflection are not counted.
func (l *rateLimiter) interceptor() grpc.UnaryServerInterceptor {
	return l.limiting("this key's or address's", func(ctx context.Context) string {
		if key := auth.PrincipalFrom(ctx).Name; key != "anonymous" {
			return key
		}
		return "addr:" + peerHost(ctx)
	})
}

// tenantInterceptor is interceptor for all the keys of a tenant together,
// so that minting keys does not multiply a tenant's share.
func (l *rateLimiter) tenantInterceptor() grpc.UnaryServerInterceptor {
	return l.limiting("the tenant's", func(ctx context.Context) string { return auth.PrincipalFrom(ctx).Tenant })
}

// limiting limits the calls of each bucket key; an empty key is not
// limited.
func (l *rateLimiter) limiting(whose string, keyOf func(context.Context) string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if l.limit <= 0 || !strings.HasPrefix(info.FullMethod, apiPrefix) {
			return handler(ctx, req)
		}
		key := keyOf(ctx)
		if key == "" {
			return handler(ctx, req)
		}
		r := l.bucket(key).Reserve()
		if delay := r.Delay(); delay > 0 {
			r.Cancel()
			secs := int(math.Ceil(delay.Seconds()))
			_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
			return nil, apierror.New(codes.ResourceExhausted, cmv1.ErrorReason_ERROR_REASON_RATE_LIMITED,
				whose+" rate limit is spent; retry after "+strconv.Itoa(secs)+"s",
				&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)})
		}
		return handler(ctx, req)
	}
}

func peerHost(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil {
		return p.Addr.String()
	}
	return host
}

// boundDeadline gives every unary call a deadline of at most d, so no
// request holds the server longer than that whatever the client asked.
// Streams (a watch runs as long as its caller wants) are left alone.
func boundDeadline(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if dl, ok := ctx.Deadline(); !streaming(ctx) && (!ok || time.Until(dl) > d) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}

// defaultFailedAuthRate bounds how fast one address may present bad
// credentials: the operator token and keys cannot be guessed at speed.
const defaultFailedAuthRate = 5

// refillSeconds is how many whole seconds b takes to hold a token again
// (at least 1).
func (l *rateLimiter) refillSeconds(b *rate.Limiter) int {
	return max(1, int(math.Ceil((1-b.Tokens())/float64(l.limit))))
}

// guardAuth wraps the auth interceptor: an address that has presented bad
// credentials too often is refused (RESOURCE_EXHAUSTED) before its token is
// even looked at, until its bucket refills.
func guardAuth(authenticate grpc.UnaryServerInterceptor, failures *rateLimiter) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		b := failures.bucket(peerHost(ctx))
		if b.Tokens() < 1 {
			secs := failures.refillSeconds(b)
			_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(secs)))
			return nil, apierror.New(codes.ResourceExhausted, cmv1.ErrorReason_ERROR_REASON_TOO_MANY_FAILED_AUTHENTICATIONS,
				"too many failed authentications from this address; retry after "+strconv.Itoa(secs)+"s",
				&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)})
		}
		resp, err := authenticate(ctx, req, info, handler)
		if md, _ := metadata.FromIncomingContext(ctx); status.Code(err) == codes.Unauthenticated && len(md.Get("authorization")) > 0 {
			b.Allow() // spend a token per credential refused (not for a missing one)
		}
		return resp, err
	}
}

// mcpAuthenticator checks the bearer token of a request to /mcp as
// guardAuth and the auth interceptor do a call's, on the same per-address
// budget of failures.
func mcpAuthenticator(authn *auth.Authenticator, failures *rateLimiter) func(ctx context.Context, token string) error {
	return func(ctx context.Context, token string) error {
		b := failures.bucket(peerHost(ctx))
		if b.Tokens() < 1 {
			return mcpserver.RetryAfter{Seconds: failures.refillSeconds(b)}
		}
		if _, ok := authn.Identify(token); !ok {
			b.Allow()
			return mcpserver.ErrUnauthenticated
		}
		return nil
	}
}
