#!/usr/bin/env bash
# What the access log and a rate limit cost: the same edgefront serving
# 1 KiB cache hits three ways, in the same run, against the same origin:
#   plain     - no access log, no rate limit, no admin listener
#   logged    - CloudFront access log to a file, and a per-client rate
#               limit set high enough that wrk is never limited
#   observed  - the same, plus the admin listener (Prometheus metrics)
# Rounds are interleaved, medians reported, ratios taken within rounds.
#
#   bash bench/observe.sh
#   ROUNDS=7 DURATION=5s bash bench/observe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-4s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
need nginx wrk curl

ORIGIN=127.0.0.1:18400 PLAIN=127.0.0.1:18401 LOGGED=127.0.0.1:18402 OBSERVED=127.0.0.1:18403 ADMIN=127.0.0.1:18404
mkdir -p "$work/www" "$work/origin"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
cat >"$work/origin/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $work/origin/pid;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; sendfile on;
  server { listen $ORIGIN; root $work/www; location / { add_header Cache-Control "max-age=3600"; } }
}
CONF
dist="distributions:
  - name: bench
    origins: {www: {type: http, url: \"http://$ORIGIN\"}}
    default_behavior: {target_origin: www}"
printf 'listen: {http: "%s"}\n%s\n' "$PLAIN" "$dist" >"$work/plain.yaml"
printf 'listen: {http: "%s"}\naccess_log: {path: %s/access.log}\n%s\n    rate_limit: {requests_per_second: 1000000}\n' "$LOGGED" "$work" "$dist" >"$work/logged.yaml"
printf 'listen: {http: "%s"}\nadmin: {listen: "%s"}\naccess_log: {path: %s/access2.log}\n%s\n    rate_limit: {requests_per_second: 1000000}\n' "$OBSERVED" "$ADMIN" "$work" "$dist" >"$work/observed.yaml"

chmod -R a+rX "$work"
go build -o "$work/edgefront" ./cmd/edgefront
nginx -c "$work/origin/nginx.conf" -p "$work/origin" & pids+=($!)
for c in plain logged observed; do "$work/edgefront" serve -c "$work/$c.yaml" >"$work/$c.log" 2>&1 & pids+=($!); done
for addr in $ORIGIN $PLAIN $LOGGED $OBSERVED; do
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://$addr/1k.bin" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://$addr/1k.bin" || { echo "$addr did not come up"; cat "$work"/*.log; exit 1; }
done

run() { # addr -> requests/s
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://$1/1k.bin")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$1: $out" >&2; fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
echo "machine: $(nproc) cores, $(uname -sr); wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS interleaved rounds, 1 KiB cache hits"
for a in $PLAIN $LOGGED $OBSERVED; do wrk -t"$THREADS" -c"$CONNS" -d1s "http://$a/1k.bin" >/dev/null; done
: >"$work/r-logged"; : >"$work/r-observed"
for c in plain logged observed; do : >"$work/$c.rps"; done
for _ in $(seq "$ROUNDS"); do
  p=$(run $PLAIN); l=$(run $LOGGED); o=$(run $OBSERVED)
  echo "$p" >>"$work/plain.rps"; echo "$l" >>"$work/logged.rps"; echo "$o" >>"$work/observed.rps"
  ratio "$l" "$p" >>"$work/r-logged"; echo >>"$work/r-logged"
  ratio "$o" "$p" >>"$work/r-observed"; echo >>"$work/r-observed"
done
for c in plain logged observed; do printf '  %-9s %10.0f req/s\n' "$c" "$(median <"$work/$c.rps")"; done
echo "  logged / plain    (access log + rate limit):           $(median <"$work/r-logged")x"
echo "  observed / plain  (access log + rate limit + metrics): $(median <"$work/r-observed")x"
echo "  access log lines written: $(grep -vc '^#' "$work/access.log"), dropped: $(curl -s "http://$ADMIN/metrics" | awk '/^edgefront_access_log_dropped_total/ {print $2}')"
