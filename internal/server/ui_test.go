package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/controlmap/controlmap/internal/server"
)

// The explorer is served on the REST port under its Content-Security-Policy,
// / leads to it, and --ui=false turns it off.
func TestExplorerIsServed(t *testing.T) {
	s := startDefault(t)
	r := s.rest(t, "GET", "/ui/", nil)
	csp := r.header.Get("Content-Security-Policy")
	if r.status != 200 || !strings.Contains(string(r.raw), `<script type="module" src="app.js">`) || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("GET /ui/: %d %q %.200s", r.status, csp, r.raw)
	}
	if r := s.rest(t, "GET", "/ui/app.js", nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /ui/app.js: %d %s", r.status, r.header.Get("Content-Type"))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.base + "/")
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %v %v", err, resp)
	}
	resp.Body.Close()
	if r := s.rest(t, "POST", "/ui/", "x"); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST /ui/: %d", r.status)
	}
	off := start(t, server.Config{DisableUI: true})
	if r := off.rest(t, "GET", "/ui/", nil); r.status != 404 {
		t.Fatalf("with the explorer off: %d", r.status)
	}
}
