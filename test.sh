#!/usr/bin/env bash
# ./test.sh [go test flags] [packages]
#
# Runs edgefront's whole test suite (go test -race, ./... unless packages are
# named), after installing what the tests need when it is missing:
#   versitygw      an S3 server that enforces SigV4, for the S3 origin tests
#                  (go install into .tools/bin; a few minutes the first time)
#   chromium       a headless browser, for the browser test (Debian package)
#   node, npm      to run AWS's JavaScript CloudFront signer (Debian packages)
#   @aws-sdk/cloudfront-signer   that signer (npm, into test/e2e/jssigner)
#   openssl        to make keys as users do (Debian package)
#   pebble, pebble-challtestsrv   Let's Encrypt's test ACME server and its
#                  DNS, for the automatic certificate tests (go install)
#   h2spec         the HTTP/2 conformance suite, run against the HTTPS
#                  listener (go install)
#   redis-server   the Redis that the cluster tests run (Debian package)
#   curl           a client with certificates, for the viewer mTLS tests
#                  (Debian package)
# When everything is there it adds well under a second.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

VERSITYGW_VERSION=v1.8.0
PEBBLE_VERSION=v2.10.3
H2SPEC_VERSION=v2.2.1+incompatible
JSSIGNER=test/e2e/jssigner

say() { echo "test.sh: $*" >&2; }

# apt_install installs Debian packages, as root or through sudo.
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "cannot install $* (not root, no sudo): install them (apt-get install $*) and run ./test.sh again"; exit 1
    fi
  fi
  say "installing $* (Debian packages)"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# go_tool installs a Go command at a version into .tools/bin unless it is
# there already at that version.
go_tool() {
  local pkg=$1 version=$2 name=${1##*/}
  local bin=$root/.tools/bin/$name
  if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "[[:space:]]$version\([[:space:]]\|$\)"; then
    return
  fi
  say "installing $name $version into .tools/bin"
  GOBIN=$root/.tools/bin go install "$pkg@$version"
}

go_tool github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
export VERSITYGW=$root/.tools/bin/versitygw
go_tool github.com/letsencrypt/pebble/v2/cmd/pebble "$PEBBLE_VERSION"
go_tool github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv "$PEBBLE_VERSION"
export PEBBLE=$root/.tools/bin/pebble PEBBLE_CHALLTESTSRV=$root/.tools/bin/pebble-challtestsrv
go_tool github.com/summerwind/h2spec/cmd/h2spec "$H2SPEC_VERSION"
export H2SPEC=$root/.tools/bin/h2spec

if [ -z "${EDGEFRONT_CHROMIUM:-}" ]; then
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then EDGEFRONT_CHROMIUM=$(command -v "$name"); break; fi
  done
  if [ -z "${EDGEFRONT_CHROMIUM:-}" ]; then
    apt_install chromium
    EDGEFRONT_CHROMIUM=$(command -v chromium)
  fi
fi
export EDGEFRONT_CHROMIUM

if [ -z "${REDIS_SERVER:-}" ]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install --no-install-recommends redis-server
  fi
  REDIS_SERVER=$(command -v redis-server)
fi
export REDIS_SERVER

if ! command -v openssl >/dev/null 2>&1; then
  apt_install openssl
fi
if ! command -v curl >/dev/null 2>&1; then
  apt_install curl
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install --no-install-recommends nodejs npm
fi
if [ ! -f "$JSSIGNER/node_modules/@aws-sdk/cloudfront-signer/package.json" ]; then
  say "installing AWS's JavaScript CloudFront signer (npm) into $JSSIGNER"
  npm install --no-package-lock --no-audit --no-fund --prefix "$JSSIGNER" >/dev/null
fi

# Packages are named by ./ paths; without one, the whole module.
args=("$@") pkgs=0
for a in "$@"; do case $a in ./*|.) pkgs=1 ;; esac; done
[ $pkgs = 1 ] || args+=(./...)
exec go test -race -count=1 "${args[@]}"
