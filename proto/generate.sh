#!/usr/bin/env bash
# Regenerates the Go, gRPC, grpc-gateway and OpenAPI code from candor/v1/*.proto
# with buf and local plugins at pinned versions. Run from anywhere:
#   proto/generate.sh          # generate
#   proto/generate.sh lint     # buf lint only
# Tools are installed once per version set into $CANDOR_TOOLS_BIN (default:
# a folder under `go env GOPATH`), never into the repository.
set -euo pipefail
cd "$(dirname "$0")"

BUF=github.com/bufbuild/buf/cmd/buf@v1.75.0
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
PROTOC_GEN_GATEWAY=github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
PROTOC_GEN_OPENAPI=github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0

versions="buf-v1.75.0_go-v1.36.12_grpc-v1.6.0_gw-v2.33.0"
bin="${CANDOR_TOOLS_BIN:-$(go env GOPATH)/candor-tools/$versions}"
mkdir -p "$bin"
for pkg in "$BUF" "$PROTOC_GEN_GO" "$PROTOC_GEN_GO_GRPC" "$PROTOC_GEN_GATEWAY" "$PROTOC_GEN_OPENAPI"; do
  name=$(basename "${pkg%@*}")
  if [ ! -x "$bin/$name" ]; then
    echo "installing $pkg" >&2
    GOBIN="$bin" go install "$pkg"
  fi
done
export PATH="$bin:$PATH"

case "${1:-generate}" in
  lint) buf lint ;;
  generate) buf lint && buf generate ;;
  *) echo "usage: $0 [generate|lint]" >&2; exit 2 ;;
esac
