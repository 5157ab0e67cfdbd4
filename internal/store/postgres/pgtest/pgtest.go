package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// binDirs are where Debian and most distributions put the server binaries.
var binDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin"}

// Cluster is a throwaway PostgreSQL cluster.
type Cluster struct {
	bin  string
	dir  string
	port int
	// asUser runs the server binaries as the postgres user when the tests
	// run as root, which initdb refuses.
	asUser string
	// URL connects to the postgres database of the cluster.
	URL string
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL is required under CI=true: %s", reason)
	}
	tb.Skipf("SKIPPING: PostgreSQL not available (%s); set CONTROLMAP_TEST_DATABASE_URL or install the server binaries", reason)
}

// StartCluster starts a new cluster that lives until the test ends.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := startCluster()
	if err != nil {
		unavailable(tb, err.Error())
	}
	tb.Cleanup(c.Remove)
	return c
}

func startCluster() (*Cluster, error) {
	c := &Cluster{}
	for _, d := range binDirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			c.bin = d
			break
		}
	}
	if c.bin == "" {
		return nil, errors.New("no initdb in " + fmt.Sprint(binDirs))
	}
	dir, err := os.MkdirTemp("", "controlmap-pg-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, errors.New("running as root and there is no postgres user to run initdb as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.asUser = "postgres"
	}
	if out, err := c.command("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// Start starts the server (again) on its port and waits until it accepts
// connections.
func (c *Cluster) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200", c.port, c.dir)
	out, err := c.command("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return nil
}

// Stop stops the server at once, dropping every connection.
func (c *Cluster) Stop() error {
	out, err := c.command("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Remove stops the server and deletes its files.
func (c *Cluster) Remove() {
	_ = c.Stop()
	_ = os.RemoveAll(c.dir)
}

// NewDatabase creates an empty database on the cluster and returns its URL.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, c.URL)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedURL  string
	sharedErr  error
)

// DatabaseURL returns a URL to a new, empty database for this test, on
// CONTROLMAP_TEST_DATABASE_URL's server or on a cluster shared by the tests
// of the package (call Cleanup from TestMain to remove it).
func DatabaseURL(tb testing.TB) string {
	tb.Helper()
	sharedOnce.Do(func() {
		if u := os.Getenv("CONTROLMAP_TEST_DATABASE_URL"); u != "" {
			sharedURL = u
			return
		}
		shared, sharedErr = startCluster()
		if sharedErr == nil {
			sharedURL = shared.URL
		}
	})
	if sharedErr != nil {
		unavailable(tb, sharedErr.Error())
	}
	return newDatabase(tb, sharedURL)
}

// Cleanup removes the shared cluster, if one was started.
func Cleanup() {
	if shared != nil {
		shared.Remove()
	}
}

// newDatabase creates a database with a random name next to the one admin
// points at, dropped when the test ends.
func newDatabase(tb testing.TB, admin string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unavailable(tb, err.Error())
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "controlmap_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
