#!/usr/bin/env bash
# What a small viewer-request CloudFront Function costs: one edgefront, two
# behaviors serving the same 1 KiB cache hits, one of them with AWS's
# example function that adds index.html to URLs without a file name.
# Rounds are interleaved, medians of per-round ratios reported.
#
#   bash bench/functions.sh
#   ROUNDS=7 DURATION=5s bash bench/functions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-4s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
need wrk curl

EDGE=127.0.0.1:18451
mkdir -p "$work/www/plain/docs" "$work/www/fn/docs"
head -c 1024 /dev/urandom >"$work/www/plain/docs/index.html"
cp "$work/www/plain/docs/index.html" "$work/www/fn/docs/index.html"
cp internal/functions/testdata/add-index.js "$work/index.js"
cat >"$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
distributions:
  - name: bench
    origins: {www: {type: dir, root: "$work/www"}}
    behaviors:
      - {path_pattern: "/fn/*", target_origin: www, functions: {viewer_request: index.js}}
    default_behavior: {target_origin: www}
CONF
go build -o "$work/edgefront" ./cmd/edgefront
"$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -fsS -o /dev/null "http://$EDGE/plain/docs/index.html" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://$EDGE/fn/docs" || { cat "$work/edgefront.log"; exit 1; }

run() { # path -> requests/s
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://$EDGE$1")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$1: $out" >&2; fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
echo "machine: $(nproc) cores, $(uname -sr); wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS interleaved rounds, 1 KiB cache hits"
wrk -t"$THREADS" -c"$CONNS" -d1s "http://$EDGE/plain/docs/index.html" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d1s "http://$EDGE/fn/docs" >/dev/null
: >"$work/plain"; : >"$work/fn"; : >"$work/ratio"
for _ in $(seq "$ROUNDS"); do
  p=$(run /plain/docs/index.html); f=$(run /fn/docs)
  echo "$p" >>"$work/plain"; echo "$f" >>"$work/fn"
  ratio "$f" "$p" >>"$work/ratio"; echo >>"$work/ratio"
done
printf '  without a function  %10.0f req/s\n' "$(median <"$work/plain")"
printf '  with the function   %10.0f req/s\n' "$(median <"$work/fn")"
echo "  with / without: $(median <"$work/ratio")x (target 0.8x)"
