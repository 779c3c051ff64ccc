#!/usr/bin/env bash
# Proxying a small uncached API answer: edgefront against nginx and Caddy in
# the same run, all in front of the same origin (an nginx that answers a
# small JSON body from memory), loaded by wrk on loopback. Prints requests/s
# and p99 for each, and the ratios.
#
#   bash bench/run.sh                 # 10 s per contender, 64 connections
#   DURATION=30s CONNS=128 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}

need nginx caddy wrk curl

ORIGIN=127.0.0.1:18100 NGINX=127.0.0.1:18101 CADDY=127.0.0.1:18102 EDGE=127.0.0.1:18103

mkdir -p "$work/nginx-origin" "$work/nginx-proxy"
cat > "$work/nginx-origin/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $work/nginx-origin/pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen $ORIGIN;
    location / { default_type application/json; return 200 '{"id":3,"title":"Scoped error pages","body":"A small uncached API answer."}\n'; }
  }
}
CONF
cat > "$work/nginx-proxy/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $work/nginx-proxy/pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream origin { server $ORIGIN; keepalive 256; }
  server {
    listen $NGINX;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffering off;
    }
  }
}
CONF
cat > "$work/Caddyfile" <<CONF
{
  admin off
  auto_https off
}
http://$CADDY {
  reverse_proxy $ORIGIN
}
CONF
cat > "$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
distributions:
  - name: bench
    origins: {api: {type: http, url: "http://$ORIGIN"}}
    default_behavior: {target_origin: api, min_ttl: 0, default_ttl: 0, max_ttl: 0}
CONF

go build -o "$work/edgefront" ./cmd/edgefront
# edgefront logs at info level to stderr; nothing is logged per request yet.
nginx -c "$work/nginx-origin/nginx.conf" -p "$work/nginx-origin" & pids+=($!)
nginx -c "$work/nginx-proxy/nginx.conf" -p "$work/nginx-proxy" & pids+=($!)
XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 & pids+=($!)
"$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)

for addr in $ORIGIN $NGINX $CADDY $EDGE; do
  for _ in $(seq 50); do curl -fsS -o /dev/null "http://$addr/api/notes/3" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://$addr/api/notes/3" || { echo "$addr did not come up"; cat "$work"/*.log; exit 1; }
done


declare -A rps p99
load() { # name addr
  wrk -t"$THREADS" -c"$CONNS" -d2s "http://$2/api/notes/3" >/dev/null   # warm up
  local out best_rps=0 best_p99=""
  for _ in $(seq "$ROUNDS"); do
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://$2/api/notes/3")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out"; fi
    local r l
    r=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    l=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    if awk -v a="$r" -v b="$best_rps" 'BEGIN { exit !(a > b) }'; then best_rps=$r; best_p99=$l; fi
  done
  rps[$1]=$best_rps p99[$1]=$best_p99
  printf '%-22s %12.0f req/s   p99 %8.3f ms\n' "$1" "${rps[$1]}" "${p99[$1]}"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load:    wrk -t$THREADS -c$CONNS -d$DURATION --latency, best of $ROUNDS rounds; GET of a small JSON answer, not cached"
echo
load "origin (direct)" $ORIGIN
load "nginx proxy_pass" $NGINX
load "caddy reverse_proxy" $CADDY
load "edgefront" $EDGE
echo
echo "edgefront / nginx  requests/s: $(ratio "${rps[edgefront]}" "${rps[nginx proxy_pass]}")x   p99: $(ratio "${p99[edgefront]}" "${p99[nginx proxy_pass]}")x"
echo "edgefront / caddy  requests/s: $(ratio "${rps[edgefront]}" "${rps[caddy reverse_proxy]}")x   p99: $(ratio "${p99[edgefront]}" "${p99[caddy reverse_proxy]}")x"
echo "caddy / nginx      requests/s: $(ratio "${rps[caddy reverse_proxy]}" "${rps[nginx proxy_pass]}")x"
