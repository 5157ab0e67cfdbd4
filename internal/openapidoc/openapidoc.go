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
	fileOperations(doc)
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

// fileMedia are the media types of the files imports read and exports
// write.
var fileMedia = []string{"application/json", "text/csv", "application/yaml"}

// fileOperations describes the REST shape of the interchange routes, which
// the facade serves itself: an import's body is the file, with the options
// in the query; an export's answer is the file.
func fileOperations(doc *openapi3.T) {
	file := func(desc string) *openapi3.Content {
		c := openapi3.Content{}
		for _, m := range fileMedia {
			c[m] = &openapi3.MediaType{Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: "binary", Description: desc}}}
		}
		return &c
	}
	query := func(name, desc string, schema *openapi3.Schema) *openapi3.ParameterRef {
		return &openapi3.ParameterRef{Value: &openapi3.Parameter{In: "query", Name: name, Description: desc, Schema: &openapi3.SchemaRef{Value: schema}}}
	}
	str := func(enum ...any) *openapi3.Schema {
		return &openapi3.Schema{Type: &openapi3.Types{"string"}, Enum: enum}
	}
	if item := doc.Paths.Value("/v1/imports"); item != nil && item.Post != nil {
		op := item.Post
		op.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true,
			Description: "The document itself, in the format named by the format parameter.", Content: *file("An OSCAL, OLIR, STRM, CISO Assistant or controlmap JSON document.")}}
		format := query("format", "The document's format.", str("oscal-catalog", "oscal-mapping", "olir-csv", "strm-csv", "ciso-yaml", "json"))
		format.Value.Required = true
		bindings := query("bindings", "bindings[KEY]=frameworks/{id}: the framework a resource of the document is (an OSCAL href, a CISO Assistant URN; source and target for OLIR and STRM sheets).",
			&openapi3.Schema{Type: &openapi3.Types{"object"}, AdditionalProperties: openapi3.AdditionalProperties{Schema: &openapi3.SchemaRef{Value: str()}}})
		bindings.Value.Style, bindings.Value.Explode = "deepObject", openapi3.Ptr(true)
		op.Parameters = openapi3.Parameters{format,
			query("mode", "strict (the default) fails on the first problem; lenient skips rows that cannot be applied.", str("strict", "lenient")),
			query("validate_only", "Check and report; write nothing.", &openapi3.Schema{Type: &openapi3.Types{"boolean"}}),
			query("framework_id", "Id of the framework a framework document creates or updates.", str()),
			query("framework_kind", "Kind of a framework the import creates.", str("standard", "regulation", "framework", "internal")),
			bindings}
	}
	for _, path := range []string{"/v1/frameworks/{framework}:export", "/v1/crosswalks/{source}/{target}:export"} {
		item := doc.Paths.Value(path)
		if item == nil || item.Get == nil {
			continue
		}
		ok := &openapi3.Response{Description: openapi3.Ptr("The file, with its name in Content-Disposition."), Content: *file("The exported file."),
			Headers: openapi3.Headers{"Content-Disposition": &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: "attachment; filename=...", Schema: &openapi3.SchemaRef{Value: str()}}}}}}
		item.Get.Responses.Set("200", &openapi3.ResponseRef{Value: ok})
	}
	// The messages of the gRPC stream: the REST routes carry files instead.
	for _, name := range []string{"v1ImportRequest", "v1ImportOptions", "v1ImportMode", "v1ExportFrameworkResponse", "v1ExportCrosswalkResponse"} {
		delete(doc.Components.Schemas, name)
	}
}
