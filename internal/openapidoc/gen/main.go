// Command gen writes the OpenAPI 3.0 document of the REST facade from the
// Swagger 2 one: gen <swagger.json> <openapi.json>.
package main

import (
	"fmt"
	"os"

	"github.com/controlmap/controlmap/internal/openapidoc"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen <swagger.json> <openapi.json>")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err == nil {
		var out []byte
		if out, err = openapidoc.Convert(in); err == nil {
			err = os.WriteFile(os.Args[2], append(out, '\n'), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
