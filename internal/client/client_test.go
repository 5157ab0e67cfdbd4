package client

import "testing"

// A token never crosses the network in plain text unless the caller says
// so.
func TestDialRefusesPlainTextTokensToOtherHosts(t *testing.T) {
	for _, c := range []struct {
		target string
		o      Options
		ok     bool
	}{
		{"localhost:9090", Options{Token: "t"}, true},
		{"127.0.0.1:9090", Options{Token: "t"}, true},
		{"[::1]:9090", Options{Token: "t"}, true},
		{"controlmap.example.com:9090", Options{}, true},
		{"controlmap.example.com:9090", Options{Token: "t"}, false},
		{"10.0.0.5:9090", Options{Token: "t"}, false},
		{"controlmap.example.com:9090", Options{Token: "t", TLS: true}, true},
		{"controlmap.example.com:9090", Options{Token: "t", Plaintext: true}, true},
		{"", Options{}, false},
	} {
		conn, err := Dial(c.target, c.o)
		if (err == nil) != c.ok {
			t.Errorf("Dial(%q, %+v): %v, want ok=%v", c.target, c.o, err, c.ok)
		}
		if conn != nil {
			conn.Close()
		}
	}
}
