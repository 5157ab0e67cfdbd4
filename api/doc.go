// Package api holds the code generated from proto/ and the OpenAPI document
// of the REST facade. Nothing here is written by hand except this file and
// the generation script; regenerate with `go generate ./api/...`.
package api

import _ "embed"

//go:generate bash generate.sh

// OpenAPI is the OpenAPI 3.0 document of the REST facade.
//
//go:embed controlmap.openapi.json
var OpenAPI []byte

// Swagger is the Swagger 2 document grpc-gateway generates, from which
// OpenAPI is converted.
//
//go:embed controlmap.swagger.json
var Swagger []byte
