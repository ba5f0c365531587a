#!/usr/bin/env bash
# The project's test command (README.md, "Set-up"). It installs what the tests
# need, then runs every test of the main module and of interop/ (go-ethereum
# interop, conformance suites, benchmarks' correctness checks).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

# Real-router tests (miniupnpd in network namespaces) and real-DNS tests
# (dnsmasq on 127.0.0.77) need these packages and root. Without root they
# skip with a message saying so.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing test packages (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    iproute2 nftables miniupnpd-nftables miniupnpc natpmpc stun-server dnsmasq-base >/dev/null
  # With the packages present, a testbed that fails to come up is a
  # failure, not a skip.
  export DNSBED_REQUIRED=1 TRELLIS_NATBED_REQUIRE=1
fi

# go-ethereum's devp2p tool carries the discv4/discv5 conformance suites.
if ! command -v devp2p >/dev/null; then
  echo "installing go-ethereum's devp2p tool"
  go install github.com/ethereum/go-ethereum/cmd/devp2p@v1.17.10
fi
# Installed, so the conformance and DNS-tree tests must find it.
export TRELLIS_REQUIRE_DEVP2P=1

go test -count=1 ./...
(cd interop && go test -count=1 ./...)
