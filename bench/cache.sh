#!/usr/bin/env bash
# Cache hits of 1 KiB and 100 KiB objects: edgefront against nginx
# proxy_cache and Varnish in the same run, all in front of the same origin
# (an nginx serving the two files with Cache-Control: max-age=3600), loaded
# by wrk on loopback once every cache holds both objects. Rounds are
# interleaved (edgefront, nginx, varnish, edgefront, ...) and the medians
# reported, with the ratios within each round. A fourth contender, "bare",
# is a bare net/http handler writing the same
# answer from memory (bench/barehit), to tell the edge's own cost from
# net/http's; a fifth, "floor", is barehit -raw, a minimal loop that
# writes the answer rendered once: what this machine allows a Go server.
#
#   bash bench/cache.sh               # 5 rounds of 5 s per contender and size
#   ROUNDS=7 DURATION=10s CONNS=64 bash bench/cache.sh
#   EDGE_GOMAXPROCS=1 bash bench/cache.sh # edgefront and the floors on one P
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}

need nginx wrk curl
command -v varnishd >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends varnish >/dev/null; }

ORIGIN=127.0.0.1:18200 NGINX=127.0.0.1:18201 VARNISH=127.0.0.1:18202 EDGE=127.0.0.1:18203 BARE=127.0.0.1:18204 FLOOR=127.0.0.1:18205

mkdir -p "$work/www" "$work/origin" "$work/proxy" "$work/proxy-cache" "$work/varnish"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
head -c 102400 /dev/urandom >"$work/www/100k.bin"

cat >"$work/origin/nginx.conf" <<CONF
daemon off; worker_processes 1; error_log stderr error; pid $work/origin/pid;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; sendfile on;
  server {
    listen $ORIGIN;
    root $work/www;
    location / { add_header Cache-Control "max-age=3600"; }
  }
}
CONF
# nginx as its experts run a cache: one worker per core, keep-alive to the
# origin, open_file_cache for the cached files, sendfile, and tcp_nopush
# off (with it on, 100 KiB hits stall on delayed ACKs).
cat >"$work/proxy/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/proxy/pid;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; sendfile on; tcp_nopush off; tcp_nodelay on;
  open_file_cache max=1000 inactive=60s; open_file_cache_valid 60s;
  proxy_cache_path $work/proxy-cache levels=1:2 keys_zone=edge:10m max_size=1g inactive=1h use_temp_path=off;
  upstream origin { server $ORIGIN; keepalive 64; }
  server {
    listen $NGINX;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache edge;
      proxy_cache_lock on;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
CONF
cat >"$work/varnish/default.vcl" <<CONF
vcl 4.1;
backend origin { .host = "${ORIGIN%:*}"; .port = "${ORIGIN#*:}"; }
CONF
cat >"$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
cache: {memory: 256MiB}
distributions:
  - name: bench
    origins: {www: {type: http, url: "http://$ORIGIN"}}
    default_behavior: {target_origin: www}
CONF

# nginx's workers and varnish's child drop root: let them read and write.
chmod -R a+rX "$work"; chmod 1777 "$work/proxy-cache" "$work/varnish"
go build -o "$work/edgefront" ./cmd/edgefront
go build -o "$work/barehit" ./bench/barehit
nginx -c "$work/origin/nginx.conf" -p "$work/origin" & pids+=($!)
nginx -c "$work/proxy/nginx.conf" -p "$work/proxy" & pids+=($!)
varnishd -F -a "$VARNISH" -f "$work/varnish/default.vcl" -s malloc,256m -n "$work/varnish/state" \
  -p thread_pool_min=50 >"$work/varnish.log" 2>&1 & pids+=($!)
$goprocs "$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)
$goprocs "$work/barehit" "$BARE" 1k.bin=1024 100k.bin=102400 >"$work/barehit.log" 2>&1 & pids+=($!)
$goprocs "$work/barehit" -raw "$FLOOR" 1k.bin=1024 100k.bin=102400 >"$work/floor.log" 2>&1 & pids+=($!)

for addr in $ORIGIN $NGINX $VARNISH $EDGE $BARE $FLOOR; do
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://$addr/1k.bin" 2>/dev/null && break; sleep 0.1; done
  for f in 1k.bin 100k.bin 1k.bin 100k.bin; do
    curl -fsS -o /dev/null "http://$addr/$f" || { echo "$addr did not come up"; cat "$work"/*.log; exit 1; }
  done
done
for h in "$EDGE" "$NGINX"; do
  echo "$h: $(curl -s -o /dev/null -D - "http://$h/100k.bin" | grep -i '^x-cache' | tr -d '\r')"
done


declare -A rps p99
run() { # name addr file -> "rps p99"
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://$2/$3")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$1 $3: $out" >&2; fi
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load:    wrk -t$THREADS -c$CONNS -d$DURATION --latency; $ROUNDS interleaved rounds, medians; cache hits only"
say_goprocs
for f in 1k.bin 100k.bin; do
  for a in $EDGE $NGINX $VARNISH $BARE $FLOOR; do wrk -t"$THREADS" -c"$CONNS" -d1s "http://$a/$f" >/dev/null; done
  : >"$work/ratios-nginx" ; : >"$work/ratios-varnish"; : >"$work/ratios-bare"; : >"$work/ratios-floor"
  for c in edgefront nginx varnish bare floor; do : >"$work/$c.rps"; : >"$work/$c.p99"; done
  for _ in $(seq "$ROUNDS"); do
    read -r e_r e_l <<<"$(run edgefront $EDGE $f)"
    read -r n_r n_l <<<"$(run nginx $NGINX $f)"
    read -r v_r v_l <<<"$(run varnish $VARNISH $f)"
    read -r b_r b_l <<<"$(run bare $BARE $f)"
    read -r f_r f_l <<<"$(run floor $FLOOR $f)"
    echo "$f_r" >>"$work/floor.rps"; echo "$f_l" >>"$work/floor.p99"
    ratio "$e_r" "$f_r" >>"$work/ratios-floor"; echo >>"$work/ratios-floor"
    echo "$b_r" >>"$work/bare.rps"; echo "$b_l" >>"$work/bare.p99"
    ratio "$e_r" "$b_r" >>"$work/ratios-bare"; echo >>"$work/ratios-bare"
    echo "$e_r" >>"$work/edgefront.rps"; echo "$e_l" >>"$work/edgefront.p99"
    echo "$n_r" >>"$work/nginx.rps"; echo "$n_l" >>"$work/nginx.p99"
    echo "$v_r" >>"$work/varnish.rps"; echo "$v_l" >>"$work/varnish.p99"
    ratio "$e_r" "$n_r" >>"$work/ratios-nginx"; echo >>"$work/ratios-nginx"
    ratio "$e_r" "$v_r" >>"$work/ratios-varnish"; echo >>"$work/ratios-varnish"
  done
  echo
  echo "$f hits:"
  for c in edgefront nginx varnish bare floor; do
    printf '  %-22s %10.0f req/s   p99 %8.3f ms\n' "$c" "$(median <"$work/$c.rps")" "$(median <"$work/$c.p99")"
  done
  echo "  edgefront / nginx proxy_cache  requests/s: $(median <"$work/ratios-nginx")x (median of per-round ratios)   p99: $(ratio "$(median <"$work/edgefront.p99")" "$(median <"$work/nginx.p99")")x"
  echo "  edgefront / varnish            requests/s: $(median <"$work/ratios-varnish")x"
  echo "  edgefront / bare net/http      requests/s: $(median <"$work/ratios-bare")x   (bare / nginx: $(ratio "$(median <"$work/bare.rps")" "$(median <"$work/nginx.rps")")x)"
  echo "  edgefront / floor (raw loop)   requests/s: $(median <"$work/ratios-floor")x   (floor / nginx: $(ratio "$(median <"$work/floor.rps")" "$(median <"$work/nginx.rps")")x)"
done
