package main

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/server"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/writes"
)

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "controlmap",
		Short:         "Frameworks, controls and crosswalks over gRPC and REST",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), migrateCommand(), keysCommand(), mcpCommand(), versionCommand(),
		frameworksCommand(), satisfiesCommand(), coverageCommand(), importCommand(), exportCommand())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: exitUsage, err: err} })
	return root
}

// serveEnv names the environment variable of each flag of serve.
var serveEnv = []envBinding{
	{"grpc-addr", []string{"CONTROLMAP_GRPC_ADDR"}},
	{"http-addr", []string{"CONTROLMAP_HTTP_ADDR"}},
	{"metrics-addr", []string{"CONTROLMAP_METRICS_ADDR"}},
	{"datastore", []string{"CONTROLMAP_DATASTORE"}},
	{"database-url", []string{"CONTROLMAP_DATABASE_URL", "DATABASE_URL"}},
	{"migrate", []string{"CONTROLMAP_MIGRATE"}},
	{"builtin-content", []string{"CONTROLMAP_BUILTIN_CONTENT"}},
	{"import-max-bytes", []string{"CONTROLMAP_IMPORT_MAX_BYTES"}},
	{"import-max-rows", []string{"CONTROLMAP_IMPORT_MAX_ROWS"}},
	{"admin-token", []string{"CONTROLMAP_ADMIN_TOKEN"}},
	{"anonymous-read", []string{"CONTROLMAP_ANONYMOUS_READ"}},
	{"mcp", []string{"CONTROLMAP_MCP"}},
	{"ui", []string{"CONTROLMAP_UI"}},
	{"rate-limit", []string{"CONTROLMAP_RATE_LIMIT"}},
	{"tenant-rate-limit", []string{"CONTROLMAP_TENANT_RATE_LIMIT"}},
	{"failed-auth-rate", []string{"CONTROLMAP_FAILED_AUTH_RATE"}},
	{"quota-keys", []string{"CONTROLMAP_QUOTA_KEYS"}},
	{"quota-frameworks", []string{"CONTROLMAP_QUOTA_FRAMEWORKS"}},
	{"quota-controls", []string{"CONTROLMAP_QUOTA_CONTROLS"}},
	{"quota-mappings", []string{"CONTROLMAP_QUOTA_MAPPINGS"}},
	{"cors-origins", []string{"CONTROLMAP_CORS_ORIGINS"}},
	{"client-ip-header", []string{"CONTROLMAP_CLIENT_IP_HEADER"}},
	{"trusted-proxies", []string{"CONTROLMAP_TRUSTED_PROXIES"}},
	{"change-retention", []string{"CONTROLMAP_CHANGE_RETENTION"}},
	{"request-timeout", []string{"CONTROLMAP_REQUEST_TIMEOUT"}},
	{"consistency-wait", []string{"CONTROLMAP_CONSISTENCY_WAIT"}},
	{"poll-interval", []string{"CONTROLMAP_POLL_INTERVAL"}},
	{"shutdown-timeout", []string{"CONTROLMAP_SHUTDOWN_TIMEOUT"}},
	{"grpc-max-streams", []string{"CONTROLMAP_GRPC_MAX_STREAMS"}},
	{"receive-timeout", []string{"CONTROLMAP_RECEIVE_TIMEOUT"}},
	{"max-connection-idle", []string{"CONTROLMAP_MAX_CONNECTION_IDLE"}},
	{"max-connection-age", []string{"CONTROLMAP_MAX_CONNECTION_AGE"}},
	{"max-connection-age-grace", []string{"CONTROLMAP_MAX_CONNECTION_AGE_GRACE"}},
	{"keepalive-min-time", []string{"CONTROLMAP_KEEPALIVE_MIN_TIME"}},
	{"log-level", []string{"CONTROLMAP_LOG_LEVEL"}},
	{"log-format", []string{"CONTROLMAP_LOG_FORMAT"}},
}

// serveOptions are the flags of serve.
type serveOptions struct {
	cfg            server.Config
	trustedProxies []string
	logLevel       string
	logFormat      string
	anonymousRead  bool
	mcp            bool
	builtinContent bool
	ui             bool
}

func serveCommand() *cobra.Command {
	cmd, _ := newServeCommand()
	return cmd
}

// newServeCommand returns serve and the options its flags fill.
func newServeCommand() (*cobra.Command, *serveOptions) {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API (gRPC and REST) until SIGINT or SIGTERM",
		Long: `Serve the API: gRPC on --grpc-addr, the JSON REST facade on --http-addr.

With no flags it serves the built-in frameworks and crosswalks from memory:
nothing is kept across restarts. Every flag can also be set through the
environment variable named in its help; a flag on the command line wins. A
value that does not parse stops the server at once, naming the flag or the
variable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.resolve(cmd)
			if err != nil {
				return err
			}
			srv, err := server.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	cfg := &o.cfg
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", ":9090", "gRPC listen address (CONTROLMAP_GRPC_ADDR)")
	f.StringVar(&cfg.HTTPAddr, "http-addr", ":8080", "REST listen address (CONTROLMAP_HTTP_ADDR)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:9464", "address of /metrics and /debug/pprof/, apart from the API; loopback by default, empty to turn them off (CONTROLMAP_METRICS_ADDR)")
	f.StringVar(&cfg.Datastore, "datastore", "memory", "store engine: memory or postgres (CONTROLMAP_DATASTORE)")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL connection string for --datastore postgres (CONTROLMAP_DATABASE_URL, or DATABASE_URL)")
	f.BoolVar(&cfg.Migrate, "migrate", false, "apply migrations and load the built-in content at start, as the migrate command does (CONTROLMAP_MIGRATE=true)")
	f.BoolVar(&o.builtinContent, "builtin-content", true, "serve the built-in frameworks and crosswalks; false starts the memory store empty (and --migrate applies the schema only), for frameworks that come from imports (CONTROLMAP_BUILTIN_CONTENT)")
	f.Int64Var(&cfg.Import.MaxBytes, "import-max-bytes", interchange.DefaultLimits.MaxBytes, "largest document one import reads, in bytes (CONTROLMAP_IMPORT_MAX_BYTES)")
	f.IntVar(&cfg.Import.MaxRows, "import-max-rows", interchange.DefaultLimits.MaxRows, "most framework, control and mapping rows one import reads (CONTROLMAP_IMPORT_MAX_ROWS)")
	f.StringVar(&cfg.AdminToken, "admin-token", "", "the operator's bearer token: creates tenants and keys, writes public mappings; empty: no operator (tenant keys issued with 'controlmap keys' still write their tenant's data) (CONTROLMAP_ADMIN_TOKEN; prefer the variable, flags show in process lists)")
	f.BoolVar(&o.anonymousRead, "anonymous-read", true, "let callers without a token read public data (CONTROLMAP_ANONYMOUS_READ)")
	f.BoolVar(&o.ui, "ui", true, "serve the crosswalk explorer, a web page at /ui/ on the REST port (CONTROLMAP_UI)")
	f.BoolVar(&o.mcp, "mcp", true, "serve the Model Context Protocol for AI assistants at /mcp on the REST port, with the REST API's authentication (CONTROLMAP_MCP)")
	f.Float64Var(&cfg.RateLimit, "rate-limit", 200, "requests per second per API key (anonymous: per address), bursts of twice that; 0 is unlimited (CONTROLMAP_RATE_LIMIT)")
	f.Float64Var(&cfg.TenantRateLimit, "tenant-rate-limit", 400, "requests per second all keys of one tenant may make together, bursts of twice that; 0 is unlimited (CONTROLMAP_TENANT_RATE_LIMIT)")
	f.Float64Var(&cfg.FailedAuthRate, "failed-auth-rate", 5, "bad credentials per second one address may present, bursts of twice that (at least one), before it is refused until it slows down; raise it when many users share an address (CONTROLMAP_FAILED_AUTH_RATE)")
	q := &writes.Quotas{}
	cfg.Quotas = q
	f.IntVar(&q.Keys, "quota-keys", writes.DefaultQuotas.Keys, "keys one tenant may hold (not revoked); 0 is unlimited (CONTROLMAP_QUOTA_KEYS)")
	f.IntVar(&q.Frameworks, "quota-frameworks", writes.DefaultQuotas.Frameworks, "internal frameworks one tenant may hold; 0 is unlimited (CONTROLMAP_QUOTA_FRAMEWORKS)")
	f.IntVar(&q.Controls, "quota-controls", writes.DefaultQuotas.Controls, "controls one tenant may hold; 0 is unlimited (CONTROLMAP_QUOTA_CONTROLS)")
	f.IntVar(&q.Mappings, "quota-mappings", writes.DefaultQuotas.Mappings, "mappings of its controls one tenant may hold; 0 is unlimited (CONTROLMAP_QUOTA_MAPPINGS)")
	f.StringSliceVar(&cfg.CORSOrigins, "cors-origins", nil, "browser origins allowed to call the REST API, comma-separated; * for any (CONTROLMAP_CORS_ORIGINS)")
	f.StringVar(&cfg.ClientIPHeader, "client-ip-header", "", "header the proxies in front of the REST port add the client address to (X-Forwarded-For), for per-address limits; needs --trusted-proxies (CONTROLMAP_CLIENT_IP_HEADER)")
	f.StringSliceVar(&o.trustedProxies, "trusted-proxies", nil, "addresses or CIDR ranges of those proxies, comma-separated: the client is the last address in the header that is not one of them (CONTROLMAP_TRUSTED_PROXIES)")
	f.DurationVar(&cfg.ChangeRetention, "change-retention", 7*24*time.Hour, "how long the change log keeps changes for WatchChanges; a watch cannot resume from older ones (CONTROLMAP_CHANGE_RETENTION)")
	f.DurationVar(&cfg.RequestTimeout, "request-timeout", 30*time.Second, "the longest a call may take, whatever deadline the client asks for; watches are not bound by it (CONTROLMAP_REQUEST_TIMEOUT)")
	f.DurationVar(&cfg.ConsistencyWait, "consistency-wait", 2*time.Second, "how long a read with min_revision waits for this replica to reach it before answering UNAVAILABLE (CONTROLMAP_CONSISTENCY_WAIT)")
	f.DurationVar(&cfg.PollInterval, "poll-interval", time.Second, "with PostgreSQL, how often a replica checks the revision besides listening for notifications (CONTROLMAP_POLL_INTERVAL)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "time in-flight requests get to finish on shutdown (CONTROLMAP_SHUTDOWN_TIMEOUT)")
	lim := &cfg.Limits
	f.Uint32Var(&lim.MaxConcurrentStreams, "grpc-max-streams", 100, "calls one gRPC connection may have open at once (CONTROLMAP_GRPC_MAX_STREAMS)")
	f.DurationVar(&lim.ReceiveTimeout, "receive-timeout", 30*time.Second, "how long a request may take to arrive, over gRPC and REST (a slow REST body is 408) (CONTROLMAP_RECEIVE_TIMEOUT)")
	f.DurationVar(&lim.MaxConnectionIdle, "max-connection-idle", 5*time.Minute, "a gRPC connection without calls for this long is closed (CONTROLMAP_MAX_CONNECTION_IDLE)")
	f.DurationVar(&lim.MaxConnectionAge, "max-connection-age", time.Hour, "a gRPC connection this old is asked to reconnect, so clients spread over replicas again (CONTROLMAP_MAX_CONNECTION_AGE)")
	f.DurationVar(&lim.MaxConnectionAgeGrace, "max-connection-age-grace", time.Minute, "what calls still open on such a connection get to finish; a watch then ends and resumes elsewhere (CONTROLMAP_MAX_CONNECTION_AGE_GRACE)")
	f.DurationVar(&lim.KeepaliveMinTime, "keepalive-min-time", 10*time.Second, "the shortest interval between a client's keepalive pings; a client pinging more often is disconnected (CONTROLMAP_KEEPALIVE_MIN_TIME)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error; debug logs every request (CONTROLMAP_LOG_LEVEL)")
	f.StringVar(&o.logFormat, "log-format", "json", "json or text (CONTROLMAP_LOG_FORMAT)")
	return cmd, o
}

// resolve applies the environment to the flags the command line left
// alone, checks every value, and returns the server's configuration.
func (o *serveOptions) resolve(cmd *cobra.Command) (server.Config, error) {
	f := cmd.Flags()
	if err := applyEnv(f, serveEnv); err != nil {
		return server.Config{}, err
	}
	cfg := o.cfg
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !(cfg.FailedAuthRate > 0) || !finite(cfg.FailedAuthRate) {
		return cfg, fmt.Errorf("--failed-auth-rate (CONTROLMAP_FAILED_AUTH_RATE) must be a positive number, got %v", cfg.FailedAuthRate)
	}
	if !(cfg.RateLimit >= 0 && cfg.TenantRateLimit >= 0) || !finite(cfg.RateLimit) || !finite(cfg.TenantRateLimit) {
		return cfg, fmt.Errorf("--rate-limit and --tenant-rate-limit must not be negative (0 is unlimited), got %v and %v", cfg.RateLimit, cfg.TenantRateLimit)
	}
	if q := *cfg.Quotas; q.Keys < 0 || q.Frameworks < 0 || q.Controls < 0 || q.Mappings < 0 {
		return cfg, fmt.Errorf("the --quota-* settings must not be negative")
	}
	if cfg.Limits.MaxConcurrentStreams == 0 {
		return cfg, fmt.Errorf("--grpc-max-streams (CONTROLMAP_GRPC_MAX_STREAMS) must be at least 1")
	}
	for name, d := range map[string]time.Duration{"change-retention": cfg.ChangeRetention, "request-timeout": cfg.RequestTimeout,
		"consistency-wait": cfg.ConsistencyWait, "poll-interval": cfg.PollInterval, "shutdown-timeout": cfg.ShutdownTimeout,
		"receive-timeout": cfg.Limits.ReceiveTimeout, "max-connection-idle": cfg.Limits.MaxConnectionIdle,
		"max-connection-age": cfg.Limits.MaxConnectionAge, "max-connection-age-grace": cfg.Limits.MaxConnectionAgeGrace,
		"keepalive-min-time": cfg.Limits.KeepaliveMinTime} {
		if d <= 0 {
			return cfg, fmt.Errorf("--%s must be a positive duration, got %v", name, d)
		}
	}
	for _, p := range o.trustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return cfg, fmt.Errorf("--trusted-proxies (CONTROLMAP_TRUSTED_PROXIES): %q is neither an address nor a CIDR range", p)
			}
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, prefix.Masked())
	}
	log, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return cfg, err
	}
	cfg.Logger = log
	cfg.DenyAnonymous = !o.anonymousRead
	cfg.DisableMCP = !o.mcp
	cfg.DisableUI = !o.ui
	cfg.NoContent = !o.builtinContent
	if cfg.Import.MaxBytes <= 0 || cfg.Import.MaxRows <= 0 {
		return cfg, fmt.Errorf("--import-max-bytes and --import-max-rows must be positive")
	}
	cfg.Version = buildVersion()
	return cfg, nil
}

func migrateCommand() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations and load the built-in content (idempotent)",
		Long: `Apply the embedded SQL migrations the database lacks, then load the built-in
frameworks and crosswalks unless the database already holds this version of them.
Running it twice changes nothing. A newer content version updates built-in rows and
never touches rows users wrote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return fmt.Errorf("--database-url (or CONTROLMAP_DATABASE_URL, DATABASE_URL) is required")
			}
			c, err := content.Load()
			if err != nil {
				return err
			}
			pool, err := pgxpool.New(cmd.Context(), url)
			if err != nil {
				return fmt.Errorf("--database-url: %w", err)
			}
			defer pool.Close()
			res, err := postgres.Migrate(cmd.Context(), pool, c)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(res.Applied) == 0 {
				fmt.Fprintln(out, "schema: up to date")
			}
			for _, m := range res.Applied {
				fmt.Fprintln(out, "schema: applied", m)
			}
			if res.ContentNewer {
				fmt.Fprintf(out, "content: the database holds %s, newer than this binary's %s; left as it is\n", res.ContentVersion, c.Version)
			} else if res.ContentLoaded {
				fmt.Fprintf(out, "content: loaded version %s\n", res.ContentVersion)
			} else {
				fmt.Fprintf(out, "content: version %s already loaded\n", res.ContentVersion)
			}
			fmt.Fprintf(out, "revision: %d\n", res.Revision)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "database-url", databaseURL(), "PostgreSQL connection string (CONTROLMAP_DATABASE_URL, or DATABASE_URL)")
	return cmd
}

// databaseURL is CONTROLMAP_DATABASE_URL, else the conventional DATABASE_URL.
func databaseURL() string {
	return env("CONTROLMAP_DATABASE_URL", os.Getenv("DATABASE_URL"))
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of the binary and of the built-in content",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := content.Load()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "controlmap %s\ncontent %s\n", buildVersion(), c.Version)
			return nil
		},
	}
}

// buildVersion is the module version, or the VCS revision of a source build.
// version is the release, set at build time (-ldflags "-X main.version=...").
var version string

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return "devel+" + s.Value[:min(12, len(s.Value))]
		}
	}
	return "devel"
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format must be json or text, got %q", format)
	}
}

func env(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return fallback
}
