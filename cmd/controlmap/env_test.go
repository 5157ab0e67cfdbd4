package main

import (
	"fmt"
	"strings"
	"testing"
)

// Settings from the environment parse as strictly as flags: a value that
// does not parse stops the server, naming the variable.
func TestServeSettingsParseStrictly(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string // part of the settings, or of the error
	}{
		{nil, nil, "deny=false migrate=false rate=200 timeout=30s wait=2s poll=1s"},
		{map[string]string{"CONTROLMAP_ANONYMOUS_READ": "0", "CONTROLMAP_MIGRATE": "1"}, nil, "deny=true migrate=true"},
		{map[string]string{"CONTROLMAP_ANONYMOUS_READ": "false"}, []string{"--anonymous-read=true"}, "deny=false"},
		{map[string]string{"CONTROLMAP_ANONYMOUS_READ": "nope"}, nil, `CONTROLMAP_ANONYMOUS_READ="nope"`},
		{map[string]string{"CONTROLMAP_MIGRATE": "yes"}, nil, `CONTROLMAP_MIGRATE="yes"`},
		{map[string]string{"CONTROLMAP_RATE_LIMIT": "fast"}, nil, `CONTROLMAP_RATE_LIMIT="fast"`},
		{map[string]string{"CONTROLMAP_RATE_LIMIT": "-1"}, nil, "--rate-limit and --tenant-rate-limit must not be negative"},
		{map[string]string{"CONTROLMAP_TENANT_RATE_LIMIT": "NaN"}, nil, "--rate-limit and --tenant-rate-limit must not be negative"},
		{map[string]string{"CONTROLMAP_RATE_LIMIT": "+Inf"}, nil, "--rate-limit and --tenant-rate-limit must not be negative"},
		{map[string]string{"CONTROLMAP_FAILED_AUTH_RATE": "0"}, nil, "--failed-auth-rate (CONTROLMAP_FAILED_AUTH_RATE) must be a positive number, got 0"},
		{nil, []string{"--failed-auth-rate=NaN"}, "--failed-auth-rate (CONTROLMAP_FAILED_AUTH_RATE) must be a positive number, got NaN"},
		{map[string]string{"CONTROLMAP_FAILED_AUTH_RATE": "0.5"}, nil, "failed-auth=0.5"},
		{nil, nil, "failed-auth=5"},
		{map[string]string{"CONTROLMAP_REQUEST_TIMEOUT": "10"}, nil, `CONTROLMAP_REQUEST_TIMEOUT="10"`},
		{map[string]string{"CONTROLMAP_REQUEST_TIMEOUT": "5s", "CONTROLMAP_CONSISTENCY_WAIT": "500ms", "CONTROLMAP_POLL_INTERVAL": "250ms"}, nil, "timeout=5s wait=500ms poll=250ms"},
		{nil, []string{"--consistency-wait=0s"}, "--consistency-wait must be a positive duration"},
	} {
		t.Run(fmt.Sprint(tc.env, tc.args), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cmd, o := newServeCommand()
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			got := ""
			cfg, err := o.resolve(cmd)
			if err != nil {
				got = err.Error()
			} else {
				got = fmt.Sprintf("deny=%v migrate=%v rate=%v timeout=%v wait=%v poll=%v failed-auth=%v",
					cfg.DenyAnonymous, cfg.Migrate, cfg.RateLimit, cfg.RequestTimeout, cfg.ConsistencyWait, cfg.PollInterval, cfg.FailedAuthRate)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
