#!/usr/bin/env bash
# Proxying a small uncached API answer: edgefront against nginx, HAProxy
# and Caddy in the same run, all in front of the same origin (an nginx that
# answers a small JSON body from memory), loaded by wrk on loopback.
# Rounds are interleaved (each contender in turn) and the medians
# reported, with the ratios to the best of nginx and HAProxy and each
# one's CPU a request (its processes' /proc ticks over the run). A sixth
# contender, "floor", is bench/barepass: a goroutine-per-connection Go
# proxy that only forwards heads and bodies, what this machine allows any
# proxy built on Go's runtime and network poller. A seventh, "loop", is
# barepass -loop: edgefront's own connection loop and origin client with
# a handler that does nothing else, which tells the pipeline's cost from
# the layers' under it. An eighth, "epoll", is barepass -epoll: a relay
# of bytes on an epoll loop a locked thread, below Go's poller and
# scheduler, with no HTTP framing at all: the most a Go proxy can do here.
# A ninth, "epollhttp", is barepass -epoll -http: an HTTP/1.1 proxy on
# those loops (heads parsed and rewritten both ways, strict framing, an
# origin pool each loop's viewers share), what an event-loop engine of
# edgefront's would spend on a pass without its pipeline. A tenth,
# "coro", is barepass -epoll -coro: the floor's own code, written for
# goroutines, run on those loops a coroutine a connection.
#
#   bash bench/run.sh                 # 3 rounds of 10 s per contender, 64 connections
#   ROUNDS=5 DURATION=5s CONNS=128 bash bench/run.sh
#   EDGE_GOMAXPROCS=1 bash bench/run.sh   # edgefront and the floors on one P
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}

need nginx caddy haproxy wrk curl

ORIGIN=127.0.0.1:18100 NGINX=127.0.0.1:18101 CADDY=127.0.0.1:18102 EDGE=127.0.0.1:18103 HAPROXY=127.0.0.1:18104 FLOOR=127.0.0.1:18105 LOOP=127.0.0.1:18106 EPOLL=127.0.0.1:18107 EPOLLHTTP=127.0.0.1:18108 CORO=127.0.0.1:18109

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
# nginx as its experts run a proxy: a worker per core (one worker made
# 0.8x the requests/s of two on this machine), keep-alive to the origin.
cat > "$work/nginx-proxy/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/nginx-proxy/pid;
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
# HAProxy as its experts run a proxy: one thread per core, keep-alive and
# connection reuse to the origin, no logging.
cat > "$work/haproxy.cfg" <<CONF
global
  nbthread $(nproc)
  tune.bufsize 16384
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend edge
  bind $HAPROXY
  default_backend origin
backend origin
  server o $ORIGIN maxconn 1000
CONF
cat > "$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
distributions:
  - name: bench
    origins: {api: {type: http, url: "http://$ORIGIN"}}
    default_behavior: {target_origin: api, min_ttl: 0, default_ttl: 0, max_ttl: 0}
CONF

go build -o "$work/edgefront" ./cmd/edgefront
go build -o "$work/barepass" ./bench/barepass
# edgefront logs at info level to stderr; nothing is logged per request yet.
nginx -c "$work/nginx-origin/nginx.conf" -p "$work/nginx-origin" & pids+=($!)
nginx -c "$work/nginx-proxy/nginx.conf" -p "$work/nginx-proxy" & pids+=($!)
XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 & pids+=($!)
$goprocs "$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 & pids+=($!)
$goprocs "$work/barepass" "$FLOOR" "$ORIGIN" >"$work/barepass.log" 2>&1 & pids+=($!)
$goprocs "$work/barepass" -loop "$LOOP" "$ORIGIN" >"$work/barepass-loop.log" 2>&1 & pids+=($!)
$goprocs "$work/barepass" -epoll "$EPOLL" "$ORIGIN" >"$work/barepass-epoll.log" 2>&1 & pids+=($!)
$goprocs "$work/barepass" -epoll -http "$EPOLLHTTP" "$ORIGIN" >"$work/barepass-epollhttp.log" 2>&1 & pids+=($!)
$goprocs "$work/barepass" -epoll -coro "$CORO" "$ORIGIN" >"$work/barepass-coro.log" 2>&1 & pids+=($!)

for addr in $ORIGIN $NGINX $CADDY $EDGE $HAPROXY $FLOOR $LOOP $EPOLL $EPOLLHTTP $CORO; do
  for _ in $(seq 50); do curl -fsS -o /dev/null "http://$addr/api/notes/3" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://$addr/api/notes/3" || { echo "$addr did not come up"; cat "$work"/*.log; exit 1; }
done


declare -A addr=([origin]=$ORIGIN [nginx]=$NGINX [haproxy]=$HAPROXY [caddy]=$CADDY [edgefront]=$EDGE [floor]=$FLOOR [loop]=$LOOP [epoll]=$EPOLL [epollhttp]=$EPOLLHTTP [coro]=$CORO)
declare -A proc=([origin]=${pids[0]} [nginx]=${pids[1]} [caddy]=${pids[2]} [edgefront]=${pids[3]} [haproxy]=${pids[4]} [floor]=${pids[5]} [loop]=${pids[6]} [epoll]=${pids[7]} [epollhttp]=${pids[8]} [coro]=${pids[9]})
names=(origin nginx haproxy caddy edgefront floor loop epoll epollhttp coro)
# ticks PID: the CPU time (user and system, in clock ticks of 10 ms) of
# the process and its children (nginx's workers) so far, as "user system".
ticks() {
  local u=0 s=0 p
  for p in "$1" $(pgrep -P "$1" | tr '\n' ' '); do
    read -r pu ps <<<"$(awk '{print $14, $15}' "/proc/$p/stat" 2>/dev/null || echo 0 0)"
    u=$((u + pu)) s=$((s + ps))
  done
  echo "$u $s"
}
run() { # name -> "rps p99 cpu-µs-a-request user-µs system-µs"
  local out u0 s0 u1 s1
  read -r u0 s0 <<<"$(ticks "${proc[$1]}")"
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://${addr[$1]}/api/notes/3")
  read -r u1 s1 <<<"$(ticks "${proc[$1]}")"
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out" >&2; fi
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")" \
    "$(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) '/requests in/ {printf "%.1f %.1f %.1f", (u + s) * 10000 / $1, u * 10000 / $1, s * 10000 / $1}' <<<"$out")"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load:    wrk -t$THREADS -c$CONNS -d$DURATION --latency; $ROUNDS interleaved rounds, medians; GET of a small JSON answer, not cached"
say_goprocs
for n in "${names[@]}"; do wrk -t"$THREADS" -c"$CONNS" -d2s "http://${addr[$n]}/api/notes/3" >/dev/null; : >"$work/$n.rps"; : >"$work/$n.p99"; : >"$work/$n.cpu"; : >"$work/$n.usr"; : >"$work/$n.sys"; done
: >"$work/ratios"; : >"$work/ratios-floor"; : >"$work/floor-best"; : >"$work/ratios-loop"; : >"$work/epoll-best"; : >"$work/epollhttp-best"; : >"$work/coro-floor"
for _ in $(seq "$ROUNDS"); do
  declare -A r=()
  for n in "${names[@]}"; do
    read -r rps p99 cpu usr sys <<<"$(run "$n")"
    echo "$rps" >>"$work/$n.rps"; echo "$p99" >>"$work/$n.p99"; echo "$cpu" >>"$work/$n.cpu"; r[$n]=$rps
    echo "$usr" >>"$work/$n.usr"; echo "$sys" >>"$work/$n.sys"
  done
  best=$(awk -v a="${r[nginx]}" -v b="${r[haproxy]}" 'BEGIN { print (a > b) ? a : b }')
  ratio "${r[edgefront]}" "$best" >>"$work/ratios"; echo >>"$work/ratios"
  ratio "${r[edgefront]}" "${r[floor]}" >>"$work/ratios-floor"; echo >>"$work/ratios-floor"
  ratio "${r[floor]}" "$best" >>"$work/floor-best"; echo >>"$work/floor-best"
  ratio "${r[edgefront]}" "${r[loop]}" >>"$work/ratios-loop"; echo >>"$work/ratios-loop"
  ratio "${r[epoll]}" "$best" >>"$work/epoll-best"; echo >>"$work/epoll-best"
  ratio "${r[epollhttp]}" "$best" >>"$work/epollhttp-best"; echo >>"$work/epollhttp-best"
  ratio "${r[coro]}" "${r[floor]}" >>"$work/coro-floor"; echo >>"$work/coro-floor"
done
echo
for n in "${names[@]}"; do
  printf '%-12s %10.0f req/s   p99 %8.3f ms   CPU %6.1f µs a request (user %5.1f, system %5.1f)\n' "$n" "$(median <"$work/$n.rps")" "$(median <"$work/$n.p99")" \
    "$(median <"$work/$n.cpu")" "$(median <"$work/$n.usr")" "$(median <"$work/$n.sys")"
done
bestp99=$(awk -v a="$(median <"$work/nginx.p99")" -v b="$(median <"$work/haproxy.p99")" 'BEGIN { print (a < b) ? a : b }')
echo
echo "edgefront / best of nginx and haproxy  requests/s: $(median <"$work/ratios")x (median of per-round ratios)   p99: $(ratio "$(median <"$work/edgefront.p99")" "$bestp99")x"
echo "edgefront / caddy                      requests/s: $(ratio "$(median <"$work/edgefront.rps")" "$(median <"$work/caddy.rps")")x"
echo "edgefront / floor (bench/barepass)     requests/s: $(median <"$work/ratios-floor")x   (floor / best of nginx and haproxy: $(median <"$work/floor-best")x)"
echo "edgefront / loop (barepass -loop)      requests/s: $(median <"$work/ratios-loop")x   (CPU a request: edgefront $(median <"$work/edgefront.cpu") µs, loop $(median <"$work/loop.cpu") µs, floor $(median <"$work/floor.cpu") µs)"
echo "epoll (barepass -epoll) / best of nginx and haproxy  requests/s: $(median <"$work/epoll-best")x   (CPU a request: $(median <"$work/epoll.cpu") µs)"
echo "epollhttp (barepass -epoll -http) / best  requests/s: $(median <"$work/epollhttp-best")x   p99: $(ratio "$(median <"$work/epollhttp.p99")" "$bestp99")x   (CPU a request: $(median <"$work/epollhttp.cpu") µs)"
echo "coro (barepass -epoll -coro) / floor    requests/s: $(median <"$work/coro-floor")x   p99: $(ratio "$(median <"$work/coro.p99")" "$(median <"$work/floor.p99")")x   (CPU a request: coro $(median <"$work/coro.cpu") µs, floor $(median <"$work/floor.cpu") µs)"
