package openapidoc

import (
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// Convert returns the OpenAPI 3.0 document of a Swagger 2 one.
func Convert(swagger []byte) ([]byte, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("reading the Swagger 2 document: %w", err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("converting to OpenAPI 3: %w", err)
	}
	doc.OpenAPI = "3.0.3"
	doc.Info = &openapi3.Info{
		Title:   "controlmap API",
		Version: "v1",
		Description: "Frameworks, controls and the crosswalks between them (ISO/IEC 27001, ISO/IEC 42001, NIST AI RMF), " +
			"and what implementing a control satisfies elsewhere. The REST facade of the gRPC services in proto/controlmap/v1.",
		License: &openapi3.License{Name: "Proprietary"},
	}
	doc.Servers = openapi3.Servers{{URL: "/", Description: "the server that serves this document"}}
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{
		"bearer": &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "http", Scheme: "bearer",
			Description: "A tenant's API key (cmk_...) or the operator's token. Public reads need none unless the server refuses anonymous reads.",
		}},
	}
	doc.Security = openapi3.SecurityRequirements{{"bearer": []string{}}, {}}
	// Every call can be refused (400 for a bad field, 401, 403, 404, 409,
	// 429): the same error body as the default response, said explicitly.
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if def := op.Responses.Default(); def != nil && op.Responses.Value("4XX") == nil {
				refused := *def.Value
				refused.Description = openapi3.Ptr("The request was refused: the status's details name the field at fault (BadRequest) and the reason (ErrorInfo).")
				op.Responses.Set("4XX", &openapi3.ResponseRef{Value: &refused})
			}
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}
