// Package api holds the code generated from proto/ and the OpenAPI document
// of the REST facade. Nothing here is written by hand except this file and
// the generation script; regenerate with `go generate ./api/...`.
package api

import _ "embed"

//go:generate bash generate.sh

// OpenAPI is the OpenAPI v2 document of the REST facade.
//
//go:embed controlmap.swagger.json
var OpenAPI []byte
