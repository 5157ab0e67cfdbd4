package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/controlmap/controlmap/internal/server"
)

// startServer runs a server for the test and returns its gRPC address.
func startServer(t *testing.T, cfg server.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return srv.GRPCAddr()
}

// run runs the command line and returns its output and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := rootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.ExecuteContext(ctx); err != nil {
		return out.String() + describe(err), exitCode(err)
	}
	return out.String(), 0
}

func TestClientCommands(t *testing.T) {
	addr := startServer(t, server.Config{AdminToken: "cli-admin"})
	dir := t.TempDir()

	out, code := run(t, "frameworks", "--server", addr)
	if code != 0 || !strings.Contains(out, "iso-27001-2022   STANDARD   138") {
		t.Fatalf("frameworks (%d):\n%s", code, out)
	}
	out, code = run(t, "frameworks", "--server", addr, "--json")
	var list struct{ Frameworks []map[string]any }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Frameworks) != 3 {
		t.Fatalf("frameworks --json (%d):\n%s", code, out)
	}
	out, code = run(t, "satisfies", "iso-27001-2022/A.5.1", "--target", "nist-ai-rmf-1.0", "--direct", "--server", addr)
	if code != 0 || !strings.Contains(out, "frameworks/nist-ai-rmf-1.0/controls/GOVERN-") || !strings.Contains(out, "direct") {
		t.Fatalf("satisfies (%d):\n%s", code, out)
	}
	out, code = run(t, "coverage", "--source", "iso-27001-2022", "--target", "iso-42001-2023", "--server", addr)
	if code != 0 || !strings.Contains(out, "A.6    AI system life cycle") || !strings.Contains(out, "not a compliance verdict") {
		t.Fatalf("coverage (%d):\n%s", code, out)
	}

	// Export, then import what was exported: nothing changes.
	file := filepath.Join(dir, "cw.csv")
	if out, code = run(t, "export", "crosswalk", "iso-27001-2022", "nist-ai-rmf-1.0", "--format", "olir-csv", "-o", file, "--server", addr); code != 0 {
		t.Fatalf("export (%d):\n%s", code, out)
	}
	t.Setenv("CONTROLMAP_TOKEN", "cli-admin")
	out, code = run(t, "import", file, "--bind", "source=iso-27001-2022", "--bind", "target=nist-ai-rmf-1.0", "--server", addr)
	if code != 0 || !strings.Contains(out, "nothing changed") || !strings.Contains(out, "mapping    0        0        96") {
		t.Fatalf("import of the export (%d):\n%s", code, out)
	}
	// A dry run of a changed file reports and writes nothing.
	raw, _ := os.ReadFile(file)
	changed := strings.Replace(string(raw), "intersects with", "superset of", 1)
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, "import", file, "--dry-run", "--bind", "source=iso-27001-2022", "--bind", "target=nist-ai-rmf-1.0", "--server", addr)
	// Strict, it reads the whole file, lists the row that cannot be applied
	// and exits as a refused input would.
	if code != exitRejected || !strings.Contains(out, "skipped: line 2: invalid mapping.strength") || !strings.Contains(out, "dry run: nothing written") ||
		!strings.Contains(out, "would be refused") || !strings.Contains(out, "mapping    0        0        95         1") {
		t.Fatalf("dry run of a file whose strength no longer fits its relationship (%d):\n%s", code, out)
	}
	if out, code = run(t, "import", file, "--dry-run", "--json", "--bind", "source=iso-27001-2022", "--bind", "target=nist-ai-rmf-1.0", "--server", addr); code != exitRejected ||
		!regexp.MustCompile(`"refused":\s+true`).MatchString(out) { // protojson varies its spaces
		t.Fatalf("dry run with --json (%d):\n%s", code, out)
	}
	if out, code = run(t, "import", file, "--dry-run", "--lenient", "--bind", "source=iso-27001-2022", "--bind", "target=nist-ai-rmf-1.0", "--server", addr); code != 0 ||
		!strings.Contains(out, "skipped: line 2") || strings.Contains(out, "would be refused") {
		t.Fatalf("lenient dry run (%d):\n%s", code, out)
	}

	// A refused export leaves an older file as it was.
	kept := filepath.Join(dir, "kept.csv")
	if err := os.WriteFile(kept, []byte("older\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "export", "crosswalk", "nope", "nist-ai-rmf-1.0", "--format", "olir-csv", "-o", kept, "--server", addr); code != exitNotFound {
		t.Fatalf("export of an unknown framework (%d):\n%s", code, out)
	}
	if raw, _ := os.ReadFile(kept); string(raw) != "older\n" {
		t.Fatalf("the file after a refused export: %q", raw)
	}

	// Exit codes scripts can test.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"satisfies", "nope/x", "--server", addr}, exitNotFound},
		{[]string{"satisfies", "--server", addr}, exitUsage},
		{[]string{"coverage", "--server", addr}, exitUsage},
		{[]string{"frameworks", "--nope"}, exitUsage},
		{[]string{"import", filepath.Join(dir, "missing.csv"), "--server", addr}, exitUsage},
		{[]string{"export", "crosswalk", "a", "b", "--format", "xlsx", "--server", addr}, exitRejected},
		{[]string{"export", "crosswalk", "a", "b", "--server", addr}, exitUsage},
		{[]string{"frameworks", "--server", "127.0.0.1:1"}, exitUnavailable},
	} {
		if out, code := run(t, tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d:\n%s", tc.args, code, tc.code, out)
		}
	}
	t.Setenv("CONTROLMAP_TOKEN", "wrong")
	if out, code := run(t, "import", file, "--server", addr, "--format", "olir-csv"); code != exitDenied {
		t.Errorf("a wrong token: exit %d:\n%s", code, out)
	}
}
