package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Options say how to reach the server.
type Options struct {
	// Token is sent as "Authorization: Bearer" with every call; empty
	// calls anonymously.
	Token string
	// TLS verifies the server against the system's roots; without it the
	// connection is plain text.
	TLS bool
	// Plaintext allows sending the token without TLS to a server that is
	// not on this host (a network that encrypts on its own, such as a
	// service mesh); without it Dial refuses.
	Plaintext bool
}

// Dial returns a connection to the gRPC port at target (host:port). It
// connects lazily: a server that is down shows in the first call's error.
func Dial(target string, o Options) (*grpc.ClientConn, error) {
	if target == "" {
		return nil, errors.New("no server address: give host:port of controlmap's gRPC port")
	}
	if o.Token != "" && !o.TLS && !o.Plaintext && !loopback(target) {
		return nil, fmt.Errorf("refusing to send the token in plain text to %s: connect with TLS, or allow plain text explicitly", target)
	}
	transport := insecure.NewCredentials()
	if o.TLS {
		transport = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(transport)}
	if o.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: o.Token, secure: o.TLS}))
	}
	return grpc.NewClient(target, opts...)
}

// bearer adds the token to every call.
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }

// loopback reports whether target (host:port) names this host.
func loopback(target string) bool {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
