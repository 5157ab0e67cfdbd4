package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/controlmap/controlmap/internal/gateway"
	"github.com/controlmap/controlmap/internal/server"
)

// rawH2 is a bare HTTP/2 client connection, to act as clients that do not
// follow the rules would.
type rawH2 struct {
	conn   net.Conn
	framer *http2.Framer
}

func dialH2(t *testing.T, addr string) *rawH2 {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	f := http2.NewFramer(conn, conn)
	if err := f.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return &rawH2{conn: conn, framer: f}
}

// call opens a stream for a gRPC method and sends data on it.
func (c *rawH2) call(t *testing.T, stream uint32, method string, data []byte) {
	t.Helper()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", method}, {":authority", "localhost"},
		{"content-type", "application/grpc"}, {"te", "trailers"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if err := c.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.framer.WriteData(stream, false, data); err != nil {
		t.Fatal(err)
	}
}

// until reads frames until match accepts one, or fails after within.
func (c *rawH2) until(t *testing.T, within time.Duration, what string, match func(http2.Frame) bool) http2.Frame {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(within))
	for {
		f, err := c.framer.ReadFrame()
		if err != nil {
			t.Fatalf("no %s within %v: %v", what, within, err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			_ = c.framer.WriteSettingsAck()
		}
		if match(f) {
			return f
		}
	}
}

// The gRPC port bounds what a client connection may hold: concurrent
// calls, the time a request may take to arrive, and how often it may ping.
func TestGRPCConnectionLimits(t *testing.T) {
	s := start(t, server.Config{Limits: server.Limits{MaxConcurrentStreams: 7, ReceiveTimeout: 500 * time.Millisecond}})

	c := dialH2(t, s.srv.GRPCAddr())
	settings := c.until(t, 2*time.Second, "SETTINGS", func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && !sf.IsAck()
	}).(*http2.SettingsFrame)
	if v, ok := settings.Value(http2.SettingMaxConcurrentStreams); !ok || v != 7 {
		t.Fatalf("MAX_CONCURRENT_STREAMS %d (%v), want 7", v, ok)
	}
	// A request that declares 1 MiB and sends 1 byte is ended after the
	// receive timeout, not held open.
	begin := time.Now()
	c.call(t, 1, "/controlmap.v1.CatalogService/ListFrameworks", []byte{0, 0, 0x10, 0, 0, 'x'})
	c.until(t, 5*time.Second, "the end of the trickled call", func(f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			return f.StreamID == 1
		case *http2.HeadersFrame:
			return f.StreamID == 1 && f.StreamEnded()
		}
		return false
	})
	if d := time.Since(begin); d < 400*time.Millisecond || d > 3*time.Second {
		t.Fatalf("the trickled call ended after %v, want about 500ms", d)
	}

	// A client pinging without pause is told to calm down and cut off.
	p := dialH2(t, s.srv.GRPCAddr())
	for i := range 5 {
		if err := p.framer.WritePing(false, [8]byte{byte(i)}); err != nil {
			break
		}
	}
	goaway := p.until(t, 5*time.Second, "GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
	if goaway.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", goaway.ErrCode)
	}
}

// Over REST a body that does not arrive in time is 408, without the
// sockets' addresses in the answer.
func TestRESTSlowBody(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, Limits: server.Limits{ReceiveTimeout: 500 * time.Millisecond}})
	conn, err := net.Dial("tcp", s.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1/mappings HTTP/1.1\r\nHost: localhost\r\nAuthorization: "+bearer+
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || !strings.Contains(string(body), "REQUEST_TIMEOUT") || strings.Contains(string(body), "127.0.0.1") {
		t.Fatalf("slow body: %d %s", resp.StatusCode, body)
	}
}

// An import's body may take longer than the receive timeout as long as it
// keeps arriving: each piece gets the timeout anew. One that stops is 408.
func TestRESTSlowImport(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, Limits: server.Limits{ReceiveTimeout: time.Second}})
	body := "{" + strings.Repeat(" ", 4*gateway.ImportChunk) + acmeCatalog[1:] // whitespace the reader must read through
	send := func(stopAt int) (*http.Response, string, time.Duration) {
		conn, err := net.Dial("tcp", s.srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		began := time.Now()
		_, _ = fmt.Fprintf(conn, "POST /v1/imports?format=oscal-catalog&validate_only=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n", bearer, len(body))
		// A quarter of a piece every 150 ms: a piece in 600 ms, the whole
		// body in about 3 s.
		for off := 0; off < len(body) && off < stopAt; off += gateway.ImportChunk / 4 {
			if _, err := io.WriteString(conn, body[off:min(len(body), off+gateway.ImportChunk/4)]); err != nil {
				break // the server answered already
			}
			time.Sleep(150 * time.Millisecond)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw), time.Since(began)
	}
	if resp, raw, took := send(len(body)); resp.StatusCode != 200 || !strings.Contains(raw, `"validateOnly":true`) || took < 2*time.Second {
		t.Fatalf("a slow import that keeps arriving: %d after %v: %.300s", resp.StatusCode, took, raw)
	}
	if resp, raw, _ := send(gateway.ImportChunk / 2); resp.StatusCode != 408 || !strings.Contains(raw, "REQUEST_TIMEOUT") {
		t.Fatalf("an import that stops arriving: %d %.300s", resp.StatusCode, raw)
	}
}
