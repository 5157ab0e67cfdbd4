#!/usr/bin/env bash
# Regenerates the Go code and the OpenAPI document under api/ from proto/,
# byte for byte, without a schema registry: the googleapis protos come from the
# grpc-gateway v1 module in the Go module cache (downloaded once if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

googleapis_module=github.com/grpc-ecosystem/grpc-gateway@v1.16.0
dir=$(go mod download -json "$googleapis_module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/third_party/googleapis/google/api" ]; then
	echo "generate: cannot find googleapis in $googleapis_module" >&2
	exit 1
fi
mkdir -p .third_party
ln -sfn "$dir/third_party/googleapis" .third_party/googleapis

go tool buf format --diff --exit-code proto
go tool buf lint proto
rm -rf api/controlmap
go tool buf generate proto --template api/buf.gen.yaml
go run ./internal/openapidoc/gen api/controlmap.swagger.json api/controlmap.openapi.json
go tool oapi-codegen -config internal/openapidoc/client/oapi-codegen.yaml api/controlmap.openapi.json
