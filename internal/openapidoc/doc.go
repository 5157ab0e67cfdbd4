// Package openapidoc turns the Swagger 2 document grpc-gateway generates
// from the protos into the OpenAPI 3.0 document clients generate code
// from: converted with kin-openapi, then completed with what the protos
// cannot say (the product's title and version, bearer authentication, the
// error responses).
package openapidoc
