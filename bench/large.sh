#!/usr/bin/env bash
# A large object (64 MiB by default) through edgefront on a cached
# behavior whose answers are too large to store (memory tier only), and on
# an uncached one, against plain proxies in the same run: nginx
# (proxy_pass, buffers in memory, no temporary files) and HAProxy (with
# splicing), all in front of one nginx origin serving the file with
# sendfile. Then with a disk tier, against nginx's proxy_cache on the same
# disk: the miss (written to the tier while it is sent; a new query string
# each round) and the hit (sendfile from the tier). Rounds are interleaved
# and each download timed by curl; medians, and each edgefront path as a
# ratio of throughput to the best plain proxy's.
#
#   bash bench/large.sh               # SIZE_MIB=64 ROUNDS=7
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

SIZE_MIB=${SIZE_MIB:-64}
ROUNDS=${ROUNDS:-7}
need nginx haproxy curl

ORIGIN=127.0.0.1:18300 NGINX=127.0.0.1:18301 HAPROXY=127.0.0.1:18302 EDGE=127.0.0.1:18303 DISK=127.0.0.1:18304 NCACHE=127.0.0.1:18305

mkdir -p "$work/www" "$work/nginx-origin" "$work/nginx-proxy" "$work/cache" "$work/nginx-cache/store"
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$work/www/object.bin"
chmod 755 "$work" "$work/www"; chmod 644 "$work/www/object.bin" # the origin's workers read it
cat >"$work/nginx-origin/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $work/nginx-origin/pid;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  server { listen $ORIGIN; root $work/www;
    location / { add_header Cache-Control "max-age=3600"; } } }
CONF
cat >"$work/nginx-proxy/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/nginx-proxy/pid;
events { worker_connections 1024; }
http { access_log off;
  upstream origin { server $ORIGIN; keepalive 16; }
  server { listen $NGINX;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering on; proxy_buffer_size 256k; proxy_buffers 8 256k; proxy_busy_buffers_size 512k; proxy_max_temp_file_size 0; } } }
CONF
cat >"$work/nginx-cache/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/nginx-cache/pid;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on;
  upstream origin { server $ORIGIN; keepalive 16; }
  proxy_cache_path $work/nginx-cache/store levels=1:2 keys_zone=big:10m max_size=4g inactive=1h use_temp_path=off;
  server { listen $NCACHE;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_cache big; proxy_buffer_size 256k; proxy_buffers 8 256k; proxy_busy_buffers_size 512k; } } }
CONF
# HAProxy as its experts stream large bodies: spliced between the sockets.
cat >"$work/haproxy.cfg" <<CONF
global
  nbthread $(nproc)
  tune.bufsize 65536
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  option splice-auto
  http-reuse always
frontend edge
  bind $HAPROXY
  default_backend origin
backend origin
  server o $ORIGIN maxconn 100
CONF
cat >"$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
cache: {memory: 256MiB}
distributions:
  - name: bench
    origins: {o: {type: http, url: "http://$ORIGIN"}}
    behaviors:
      - {path_pattern: "/pass/*", target_origin: o, strip_prefix: /pass, min_ttl: 0, default_ttl: 0, max_ttl: 0}
    default_behavior: {target_origin: o}
CONF
cat >"$work/edgefront-disk.yaml" <<CONF
listen: {http: "$DISK"}
cache: {memory: 64MiB, disk: {path: "$work/cache", size: 4GiB}, max_object_size: 1GiB}
distributions:
  - name: bench
    origins: {o: {type: http, url: "http://$ORIGIN"}}
    default_behavior: {target_origin: o}
CONF

go build -o "$work/edgefront" ./cmd/edgefront
nginx -c "$work/nginx-origin/nginx.conf" -p "$work/nginx-origin" & pids+=($!)
nginx -c "$work/nginx-proxy/nginx.conf" -p "$work/nginx-proxy" & pids+=($!)
nginx -c "$work/nginx-cache/nginx.conf" -p "$work/nginx-cache" & pids+=($!)
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 & pids+=($!)
"$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)
"$work/edgefront" serve -c "$work/edgefront-disk.yaml" >"$work/edgefront-disk.log" 2>&1 & pids+=($!)
for addr in $ORIGIN $NGINX $HAPROXY $EDGE $DISK $NCACHE; do
  for _ in $(seq 50); do curl -fsS -o /dev/null -r 0-0 "http://$addr/object.bin" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null -r 0-0 "http://$addr/object.bin" || { echo "$addr did not come up"; cat "$work"/*.log; exit 1; }
done

mibs() { # url -> MiB/s of one download, checked whole
  local out
  out=$(curl -sS --fail -o /dev/null -w '%{speed_download} %{size_download}' "$1")
  [ "${out#* }" = "$((SIZE_MIB << 20))" ] || { echo "$1: ${out#* } bytes" >&2; exit 1; }
  awk -v s="${out%% *}" 'BEGIN { printf "%.1f", s / 1048576 }'
}
names=(origin nginx haproxy cached pass diskmiss diskhit nginxmiss nginxhit)
for n in "${names[@]}"; do : >"$work/$n"; done
: >"$work/ratios"
for round in $(seq "$ROUNDS"); do
  mibs "http://$ORIGIN/object.bin" >>"$work/origin"; echo >>"$work/origin"
  n=$(mibs "http://$NGINX/object.bin"); echo "$n" >>"$work/nginx"
  h=$(mibs "http://$HAPROXY/object.bin"); echo "$h" >>"$work/haproxy"
  c=$(mibs "http://$EDGE/object.bin"); echo "$c" >>"$work/cached"
  p=$(mibs "http://$EDGE/pass/object.bin"); echo "$p" >>"$work/pass"
  m=$(mibs "http://$DISK/object.bin?r=$round"); echo "$m" >>"$work/diskmiss"
  d=$(mibs "http://$DISK/object.bin?r=$round"); echo "$d" >>"$work/diskhit"
  nm=$(mibs "http://$NCACHE/object.bin?r=$round"); echo "$nm" >>"$work/nginxmiss"
  nh=$(mibs "http://$NCACHE/object.bin?r=$round"); echo "$nh" >>"$work/nginxhit"
  best=$(awk -v a="$n" -v b="$h" 'BEGIN { print (a > b) ? a : b }')
  echo "$(ratio "$c" "$best") $(ratio "$p" "$best") $(ratio "$m" "$nm") $(ratio "$d" "$nh")" >>"$work/ratios"
done

echo "machine: $(nproc) cores, $(uname -sr); object: $SIZE_MIB MiB from an nginx origin; curl to /dev/null; medians of $ROUNDS interleaved rounds"
printf '%-44s %8s MiB/s\n' \
  "direct from the origin" "$(median <"$work/origin")" \
  "nginx proxy_pass" "$(median <"$work/nginx")" \
  "HAProxy (splice-auto)" "$(median <"$work/haproxy")" \
  "edgefront, cached behavior, too large to store" "$(median <"$work/cached")" \
  "edgefront, uncached behavior" "$(median <"$work/pass")" \
  "edgefront, disk tier, miss (stored as it goes)" "$(median <"$work/diskmiss")" \
  "edgefront, disk tier, hit (sendfile)" "$(median <"$work/diskhit")" \
  "nginx proxy_cache, miss" "$(median <"$work/nginxmiss")" \
  "nginx proxy_cache, hit" "$(median <"$work/nginxhit")"
col() { awk -v c="$1" '{print $c}' "$work/ratios" | median; }
echo
echo "throughput ratios, medians of the per-round ratios:"
echo "  edgefront / best of nginx and HAProxy:  cached behavior, not stored $(col 1)x   uncached $(col 2)x"
echo "  edgefront / nginx proxy_cache on disk:  miss $(col 3)x   hit $(col 4)x"
