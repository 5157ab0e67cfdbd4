package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/controlmap/controlmap/api"
	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/gateway"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/mcpserver"
	"github.com/controlmap/controlmap/internal/service"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/memory"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/webui"
	"github.com/controlmap/controlmap/internal/writes"
)

// Config is everything the server needs to start.
type Config struct {
	// GRPCAddr and HTTPAddr are the listen addresses (":9090", ":8080";
	// port 0 picks a free one).
	GRPCAddr string
	HTTPAddr string
	// Datastore selects the store engine: "memory" or "postgres".
	Datastore string
	// DatabaseURL is the PostgreSQL connection string (postgres only).
	DatabaseURL string
	// Migrate applies the migrations and loads the built-in content at
	// start (postgres only), as the migrate command does.
	Migrate bool
	// ConsistencyWait bounds how long a read with min_revision waits for
	// this replica to catch up (default 2s).
	ConsistencyWait time.Duration
	// CORSOrigins are the browser origins allowed to call the REST facade.
	CORSOrigins []string
	// ClientIPHeader names the header a trusted proxy sets to the client's
	// address (see gateway.Options).
	ClientIPHeader string
	// TrustedProxies are the proxies whose ClientIPHeader is believed.
	TrustedProxies []netip.Prefix
	// DenyAnonymous refuses callers without a token, even for reads of
	// public data (by default they may read it).
	DenyAnonymous bool
	// DisableMCP turns off the Model Context Protocol endpoint, /mcp on the
	// REST port (served by default).
	DisableMCP bool
	// DisableUI turns off the crosswalk explorer, /ui/ on the REST port
	// (served by default, with / redirecting to it).
	DisableUI bool
	// Version of the binary, as MCP clients are told.
	Version string
	// RateLimit is the requests per second each caller may make (bursts
	// of twice that); 0 turns limiting off.
	RateLimit float64
	// RequestTimeout bounds every call (default 30s).
	RequestTimeout time.Duration
	// AdminToken authorizes writes; empty disables them.
	AdminToken string
	// PollInterval bounds how long a missed notification can delay a
	// PostgreSQL replica (default 1s).
	PollInterval time.Duration
	// StartupGrace is how long a PostgreSQL store bears, at start, an error
	// that waiting does not cure before the server gives up (default 10s).
	StartupGrace time.Duration
	// Quotas bound what one tenant may hold (writes.DefaultQuotas when
	// nil; a zero field means no bound).
	Quotas *writes.Quotas
	// FailedAuthRate is how many bad credentials per second one address may
	// present (bursts of twice that, at least one) before it is refused, whatever it
	// sends, until it slows down (default 5).
	FailedAuthRate float64
	// TenantRateLimit is the requests per second all keys of one tenant
	// may make together (bursts of twice that); 0 turns it off.
	TenantRateLimit float64
	// TracerProvider traces calls (gRPC and REST) and database queries;
	// nil: from the OTEL_* variables (see tracing), or not at all.
	TracerProvider trace.TracerProvider
	// MetricsAddr is where /metrics and /debug/pprof/ are served, apart
	// from the API so that a network policy can keep them private; empty:
	// not served.
	MetricsAddr string
	// Limits bound what one client connection may hold.
	Limits Limits
	// ChangeRetention is how long the change log keeps a change for
	// WatchChanges (default 7 days).
	ChangeRetention time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once shutdown starts.
	ShutdownTimeout time.Duration
	// NoContent starts without the built-in frameworks and crosswalks:
	// the memory store starts empty, and --migrate on PostgreSQL applies
	// the schema only. Frameworks then come from imports.
	NoContent bool
	// Import bounds the documents one import reads (interchange.DefaultLimits
	// for zero fields).
	Import interchange.Limits
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is a configured controlmap server with its listeners open.
type Server struct {
	cfg         Config
	log         *slog.Logger
	store       store.Store
	grpc        *grpc.Server
	health      *health.Server
	http        *http.Server
	grpcLis     net.Listener
	httpLis     net.Listener
	restConn    *gateway.Conn
	ops         *http.Server // metrics and profiles, on their own listener
	stopTracing func(context.Context) error
	opsLis      net.Listener
	changes     *service.ChangeServer
	metrics     *metrics
}

// New opens the store, builds the services and binds both listeners. It
// does not serve until Run.
func New(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = slog.New(contextHandler{log.Handler()})
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.ChangeRetention <= 0 {
		cfg.ChangeRetention = postgres.DefaultChangeRetention
	}
	if cfg.ConsistencyWait <= 0 {
		cfg.ConsistencyWait = 2 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	cfg.Limits.defaults()
	if cfg.Quotas == nil {
		cfg.Quotas = &writes.DefaultQuotas
	}
	if cfg.AdminToken != "" && len(cfg.AdminToken) < 32 {
		log.Warn("the admin token is shorter than 32 characters; use a long random one (openssl rand -hex 32)")
	}
	for _, r := range []float64{cfg.FailedAuthRate, cfg.RateLimit, cfg.TenantRateLimit} {
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("rate limits must be finite and not negative, got %v", r)
		}
	}
	if cfg.ClientIPHeader != "" && len(cfg.TrustedProxies) == 0 {
		return nil, errors.New("--client-ip-header needs --trusted-proxies: the addresses of the proxies that set it (otherwise any client could write it)")
	}
	tp, stopTracing, err := tracing(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	cfg.TracerProvider = tp
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, errors.Join(err, stopTracing(ctx))
	}
	s := &Server{cfg: cfg, log: log, store: st, stopTracing: stopTracing}

	authn := auth.New(cfg.AdminToken, st.Directory, !cfg.DenyAnonymous)
	failedAuth := newRateLimiter(cmp.Or(cfg.FailedAuthRate, defaultFailedAuthRate))
	s.metrics = newMetrics(st)
	callLog, callLogOpts := callLogger(log)
	interceptor := chain(
		recovery.UnaryServerInterceptor(recoveryOptions(log)...),
		assignRequestID(),
		logging.UnaryServerInterceptor(callLog, callLogOpts...),
		s.metrics.unary(),
		boundDeadline(cfg.RequestTimeout),
		guardAuth(authn.UnaryInterceptor(), failedAuth),
		newRateLimiter(cfg.RateLimit).interceptor(),
		newRateLimiter(cfg.TenantRateLimit).tenantInterceptor(),
		consistency(st, cfg.ConsistencyWait),
		rewriteErrors(log),
	)
	streamer := chainStream(recovery.StreamServerInterceptor(recoveryOptions(log)...), s.metrics.stream(), streamThrough(interceptor))
	opts := cfg.Limits.serverOptions()
	if tp != nil {
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagator))))
	}
	s.grpc = grpc.NewServer(append(opts,
		grpc.UnaryInterceptor(interceptor),
		grpc.StreamInterceptor(streamer),
		// The same bound as the REST facade's body limit.
		grpc.MaxRecvMsgSize(gateway.MaxBodyBytes),
	)...)
	s.restConn = gateway.NewConn(interceptor, streamer)
	s.changes = service.NewChangeServer(st)
	w := writes.New(st).WithQuotas(*cfg.Quotas)
	s.health = health.NewServer()
	for _, name := range []string{cmv1.CatalogService_ServiceDesc.ServiceName, cmv1.CrosswalkService_ServiceDesc.ServiceName, cmv1.SatisfactionService_ServiceDesc.ServiceName, cmv1.TenantService_ServiceDesc.ServiceName, cmv1.ChangeService_ServiceDesc.ServiceName, cmv1.InterchangeService_ServiceDesc.ServiceName} {
		s.health.SetServingStatus(name, grpc_health_v1.HealthCheckResponse_SERVING)
	}
	// NOT_SERVING until Run starts serving.
	s.health.Shutdown()
	for _, r := range []grpc.ServiceRegistrar{s.grpc, s.restConn} {
		cmv1.RegisterCatalogServiceServer(r, service.NewCatalogServer(st, w))
		cmv1.RegisterCrosswalkServiceServer(r, service.NewCrosswalkServer(st, w))
		cmv1.RegisterSatisfactionServiceServer(r, service.NewSatisfactionServer(st))
		cmv1.RegisterTenantServiceServer(r, service.NewTenantServer(st, w))
		cmv1.RegisterChangeServiceServer(r, s.changes)
		cmv1.RegisterInterchangeServiceServer(r, service.NewInterchangeServer(st, w, importLimits(cfg.Import)))
		grpc_health_v1.RegisterHealthServer(r, s.health)
	}
	reflection.Register(s.grpc)

	gwOpts := gateway.Options{CORSOrigins: cfg.CORSOrigins, ClientIPHeader: cfg.ClientIPHeader, TrustedProxies: cfg.TrustedProxies,
		ReceiveTimeout: cfg.Limits.ReceiveTimeout}
	rest, err := gateway.New(ctx, s.restConn, api.OpenAPI, api.Swagger, gwOpts)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	root := http.NewServeMux()
	root.Handle("/", rest)
	if !cfg.DisableUI {
		root.Handle(webui.Prefix, webui.Handler())
		root.Handle("GET /{$}", http.RedirectHandler(webui.Prefix, http.StatusFound))
	}
	if !cfg.DisableMCP {
		root.Handle("/mcp", gateway.WithPeer(gwOpts, mcpserver.HTTPHandler(s.restConn, mcpserver.HTTPOptions{
			Version: cfg.Version, Anonymous: !cfg.DenyAnonymous, MaxBodyBytes: gateway.MaxBodyBytes,
			Authenticate: mcpAuthenticator(authn, failedAuth), BehindProxy: len(cfg.TrustedProxies) > 0,
		})))
	}
	var handler http.Handler = root
	if tp != nil {
		handler = otelhttp.NewHandler(root, "controlmap.rest", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.Limits.ReceiveTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	var lc net.ListenConfig
	if s.grpcLis, err = lc.Listen(ctx, "tcp", cfg.GRPCAddr); err != nil {
		return nil, errors.Join(fmt.Errorf("grpc listener: %w", err), st.Close())
	}
	if s.httpLis, err = lc.Listen(ctx, "tcp", cfg.HTTPAddr); err != nil {
		return nil, errors.Join(fmt.Errorf("http listener: %w", err), s.grpcLis.Close(), st.Close())
	}
	if cfg.MetricsAddr != "" {
		if s.opsLis, err = lc.Listen(ctx, "tcp", cfg.MetricsAddr); err != nil {
			return nil, errors.Join(fmt.Errorf("metrics listener: %w", err), s.grpcLis.Close(), s.httpLis.Close(), st.Close())
		}
		s.ops = &http.Server{Handler: s.metrics.opsHandler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	}
	return s, nil
}

// openStore picks the engine by name; engines are listed here, not
// registered from init functions.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, error) {
	switch cfg.Datastore {
	case "postgres":
		return openPostgres(ctx, cfg, log)
	case "", "memory":
		if cfg.NoContent {
			var b catalog.Builder
			g, err := b.Build(1, nil)
			if err != nil {
				return nil, err
			}
			log.Info("datastore: memory, without the built-in content; changes are not kept across restarts")
			st := memory.New(g)
			st.SetRetention(cfg.ChangeRetention)
			return st, nil
		}
		c, g, err := content.LoadGraph()
		if err != nil {
			return nil, fmt.Errorf("built-in content: %w", err)
		}
		log.Info("datastore: memory; built-in content loaded, changes are not kept across restarts",
			"content_version", c.Version, "frameworks", len(g.Frameworks()), "controls", g.ControlCount(), "mappings", g.MappingCount())
		st := memory.New(g)
		st.SetRetention(cfg.ChangeRetention)
		return st, nil
	default:
		return nil, fmt.Errorf("unknown datastore %q (known: memory, postgres)", cfg.Datastore)
	}
}

// importLimits fills the zero fields of l with the defaults.
func importLimits(l interchange.Limits) interchange.Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = interchange.DefaultLimits.MaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = interchange.DefaultLimits.MaxRows
	}
	return l
}

// GRPCAddr is the address the gRPC listener is bound to.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// MetricsAddr is the address the metrics listener is bound to; empty when
// there is none.
func (s *Server) MetricsAddr() string {
	if s.opsLis == nil {
		return ""
	}
	return s.opsLis.Addr().String()
}

// HTTPAddr is the address the REST listener is bound to.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Run serves until ctx ends or a listener fails, then shuts down: health
// turns NOT_SERVING, new connections are refused, in-flight requests finish
// within the shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.grpc.Serve(s.grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("grpc: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.http.Serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	if s.ops != nil {
		g.Go(func() error {
			if err := s.ops.Serve(s.opsLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		return s.shutdown()
	})
	if f, ok := s.store.(interface{ Failed() <-chan error }); ok {
		g.Go(func() error {
			select {
			case err := <-f.Failed():
				return fmt.Errorf("the store cannot start: %w", err)
			case <-gctx.Done():
				return nil
			}
		})
	}
	g.Go(func() error {
		// SERVING once the store has its catalog: a PostgreSQL store loads
		// it in the background, retrying until the database answers.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !s.store.Ready() {
			select {
			case <-gctx.Done():
				return nil
			case <-tick.C:
			}
		}
		s.health.Resume()
		return nil
	})
	s.log.Info("serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())
	err := g.Wait()
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, s.store.Close(), s.stopTracing(flush))
}

func (s *Server) shutdown() error {
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	s.health.Shutdown()
	s.changes.Stop() // open watches end at once; their clients resume elsewhere
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	if s.ops != nil {
		defer s.ops.Close() // scrapes and profiles need no grace
	}
	httpErr := s.http.Shutdown(ctx)
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
	}
	if httpErr != nil {
		s.http.Close()
		return fmt.Errorf("http shutdown: %w", httpErr)
	}
	return nil
}
