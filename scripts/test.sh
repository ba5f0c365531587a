#!/usr/bin/env bash
# The project's test command (README.md "Test"). Installs what the tests need,
# then runs every test of the main module and of interop/ (go-ethereum interop).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

go test -count=1 ./...
(cd interop && go test -count=1 ./...)
