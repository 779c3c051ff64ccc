#!/usr/bin/env bash
# HTTP/2 over TLS: 1 KiB cache hits through edgefront against nginx's
# proxy_cache, both with HTTP/2 on their HTTPS listener and the same
# self-signed certificate (ECDSA P-256), loaded by h2load (-c64 -m10, TLS
# 1.3) once both caches hold the object. Rounds are interleaved; medians
# and the ratio within each round are reported. A third contender,
# "bare", is a bare net/http handler over TLS writing the same answer from
# memory (bench/barehit -cert): what Go's HTTP/2 server allows.
#
#   bash bench/h2.sh                  # 5 rounds of 5 s each
#   ROUNDS=7 DURATION=10 bash bench/h2.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-64}
STREAMS=${STREAMS:-10}
command -v h2load >/dev/null 2>&1 || need nghttp2-client
need nginx openssl curl

ORIGIN=127.0.0.1:18400 NGINX=127.0.0.1:18401 EDGE=127.0.0.1:18402 EDGE_HTTP=127.0.0.1:18403 BARE=127.0.0.1:18404

mkdir -p "$work/www" "$work/origin" "$work/proxy" "$work/proxy-cache"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat >"$work/origin/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $work/origin/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; sendfile on;
  server { listen $ORIGIN; root $work/www; location / { add_header Cache-Control "max-age=3600"; } } }
CONF
# nginx as its experts serve HTTP/2 hits: a worker per core, session
# reuse, open_file_cache, keep-alive to the origin.
cat >"$work/proxy/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/proxy/pid;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nodelay on; keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  ssl_protocols TLSv1.3; ssl_session_cache shared:SSL:10m;
  http2_max_concurrent_streams 128;
  proxy_cache_path $work/proxy-cache levels=1:2 keys_zone=edge:10m max_size=1g inactive=1h use_temp_path=off;
  upstream origin { server $ORIGIN; keepalive 64; }
  server {
    listen $NGINX ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_cache edge; }
  }
}
CONF
cat >"$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE_HTTP", https: "$EDGE"}
tls: {certificates: [{cert_file: "$work/cert.pem", key_file: "$work/key.pem"}]}
cache: {memory: 256MiB}
distributions:
  - name: bench
    origins: {www: {type: http, url: "http://$ORIGIN"}}
    default_behavior: {target_origin: www}
CONF
chmod -R a+rX "$work"; chmod 1777 "$work/proxy-cache"
go build -o "$work/edgefront" ./cmd/edgefront
go build -o "$work/barehit" ./bench/barehit
nginx -c "$work/origin/nginx.conf" -p "$work/origin" & pids+=($!)
nginx -c "$work/proxy/nginx.conf" -p "$work/proxy" & pids+=($!)
"$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)
"$work/barehit" -cert "$work/cert.pem" -key "$work/key.pem" "$BARE" 1k.bin=1024 >"$work/barehit.log" 2>&1 & pids+=($!)
for addr in $NGINX $EDGE $BARE; do
  for _ in $(seq 100); do curl -ksS -o /dev/null "https://$addr/1k.bin" 2>/dev/null && break; sleep 0.1; done
  for _ in 1 2 3; do curl -ksS --http2 -o /dev/null "https://$addr/1k.bin" || { echo "$addr did not come up"; cat "$work"/*.log; exit 1; }; done
done

run() { # addr -> requests/s
  local out
  out=$(h2load -c"$CLIENTS" -m"$STREAMS" -t2 -D"$DURATION" "https://$1/1k.bin" 2>&1)
  grep -q "succeeded, 0 failed" <<<"$out" || grep -q " 0 failed" <<<"$out" || echo "$1: $(grep 'requests:' <<<"$out")" >&2
  awk '/^finished in/ {gsub(",", "", $4); print $4}' <<<"$out"
}
for a in $EDGE $NGINX $BARE; do h2load -c"$CLIENTS" -m"$STREAMS" -t2 -D1 "https://$a/1k.bin" >/dev/null 2>&1; done
: >"$work/e"; : >"$work/n"; : >"$work/b"; : >"$work/ratios"; : >"$work/ratios-bare"; : >"$work/bare-nginx"
for _ in $(seq "$ROUNDS"); do
  e=$(run $EDGE); n=$(run $NGINX); b=$(run $BARE)
  echo "$e" >>"$work/e"; echo "$n" >>"$work/n"; echo "$b" >>"$work/b"
  ratio "$e" "$n" >>"$work/ratios"; echo >>"$work/ratios"
  ratio "$e" "$b" >>"$work/ratios-bare"; echo >>"$work/ratios-bare"
  ratio "$b" "$n" >>"$work/bare-nginx"; echo >>"$work/bare-nginx"
done
echo "machine: $(nproc) cores, $(uname -sr); h2load -c$CLIENTS -m$STREAMS -t2 -D$DURATION over TLS 1.3; $ROUNDS interleaved rounds, medians; 1 KiB cache hits"
printf '  %-22s %10.0f req/s\n' edgefront "$(median <"$work/e")" "nginx proxy_cache" "$(median <"$work/n")" "bare net/http" "$(median <"$work/b")"
echo "  edgefront / nginx          requests/s: $(median <"$work/ratios")x (median of per-round ratios)"
echo "  edgefront / bare net/http  requests/s: $(median <"$work/ratios-bare")x   (bare / nginx: $(median <"$work/bare-nginx")x)"
