package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

// envBinding ties a flag to the environment variables that set it when
// the command line does not, the first one set winning.
type envBinding struct {
	flag string
	vars []string
}

// applyEnv sets each flag the command line left alone from its
// environment variable, parsed exactly as the flag parses its own values
// (a boolean takes true, false, 1, 0, t, f; a duration needs a unit). A
// value that does not parse is an error naming the variable.
func applyEnv(fs *pflag.FlagSet, bindings []envBinding) error {
	for _, b := range bindings {
		if fs.Changed(b.flag) {
			continue
		}
		for _, name := range b.vars {
			v, ok := os.LookupEnv(name)
			if !ok {
				continue
			}
			if err := fs.Set(b.flag, v); err != nil {
				return fmt.Errorf("%s=%q: %v", name, v, err)
			}
			break
		}
	}
	return nil
}
