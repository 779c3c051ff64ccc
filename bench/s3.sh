#!/usr/bin/env bash
# Streaming a 1 GiB object from an S3 server through edgefront, against
# downloading it directly from the same server and through nginx
# (proxy_pass, the bucket made readable for it), in the same run. Prints
# throughput for each, the ratios, and the edge's peak RSS.
#
#   bash bench/s3.sh            # SIZE_MIB=1024 ROUNDS=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-5}
VERSITYGW_VERSION=v1.8.0
export PATH="$(go env GOPATH)/bin:$PATH"
command -v versitygw >/dev/null 2>&1 || go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
need curl nginx

S3=127.0.0.1:18200 EDGE=127.0.0.1:18201 NGINX=127.0.0.1:18202
KEY=benchroot SECRET=bench-root-secret
mkdir -p "$work/s3"
ROOT_ACCESS_KEY=$KEY ROOT_SECRET_KEY=$SECRET versitygw --port $S3 posix "$work/s3" >"$work/versitygw.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://$S3/" && break; sleep 0.1; done

s3curl() { curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
s3curl -X PUT "http://$S3/bench" >/dev/null
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$work/object.bin"
s3curl -T "$work/object.bin" "http://$S3/bench/object.bin" >/dev/null
rm "$work/object.bin"
# nginx cannot sign: a bucket policy lets it read anonymously.
printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bench/*"}]}' >"$work/policy.json"
s3curl -T "$work/policy.json" "http://$S3/bench?policy=" >/dev/null
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/nginx/pid;
events { worker_connections 1024; }
http { access_log off;
  upstream s3 { server $S3; keepalive 16; }
  server { listen $NGINX;
    location / { proxy_pass http://s3/bench/; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering on; proxy_buffer_size 256k; proxy_buffers 8 256k; proxy_busy_buffers_size 512k; proxy_max_temp_file_size 0; } } }
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & nginx_pid=$!; pids+=($nginx_pid)

cat >"$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
distributions:
  - name: bench
    origins: {bucket: {type: s3, bucket: bench, endpoint: "http://$S3", access_key_id: $KEY, secret_access_key: $SECRET}}
    default_behavior: {target_origin: bucket, min_ttl: 0, default_ttl: 0, max_ttl: 0}
CONF
go build -o "$work/edgefront" ./cmd/edgefront
"$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & edge_pid=$!; pids+=($edge_pid)
for _ in $(seq 100); do curl -s -o /dev/null "http://$EDGE/" && break; sleep 0.1; done

# ticks PID...: the CPU time (user and system, in clock ticks) of the
# processes and their children so far.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
workers() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
speed() { # command...: MiB/s of one download
  awk -v s="$("$@" -o /dev/null -w '%{speed_download}')" 'BEGIN { printf "%.1f", s / 1048576 }'
}
# Rounds interleave the three paths, so that drift in the machine's speed
# touches them alike; each ratio is taken within its round.
: >"$work/rounds"
for _ in $(seq "$ROUNDS"); do
  d=$(speed s3curl "http://$S3/bench/object.bin")
  t0=$(ticks $edge_pid)
  e=$(speed curl -sS --fail "http://$EDGE/object.bin")
  t1=$(ticks $edge_pid); t2=$(ticks $(workers $nginx_pid))
  n=$(speed curl -sS --fail "http://$NGINX/object.bin")
  t3=$(ticks $(workers $nginx_pid))
  echo "$d $e $n $((t1 - t0)) $((t3 - t2))" >>"$work/rounds"
done
direct=$(awk '{print $1}' "$work/rounds" | median)
edge=$(awk '{print $2}' "$work/rounds" | median)
nginx=$(awk '{print $3}' "$work/rounds" | median)
edge_ratio=$(awk '{printf "%.4f\n", $2 / $1}' "$work/rounds" | median)
nginx_ratio=$(awk '{printf "%.4f\n", $3 / $1}' "$work/rounds" | median)
hz=$(getconf CLK_TCK)
edge_cpu=$(awk -v hz="$hz" -v mib="$SIZE_MIB" '{printf "%.3f\n", $4 / hz / mib * 1024}' "$work/rounds" | median)
nginx_cpu=$(awk -v hz="$hz" -v mib="$SIZE_MIB" '{printf "%.3f\n", $5 / hz / mib * 1024}' "$work/rounds" | median)
rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$edge_pid/status")

echo "machine: $(nproc) cores, $(uname -sr); object: $SIZE_MIB MiB on versitygw $VERSITYGW_VERSION (posix); curl to /dev/null; medians of $ROUNDS interleaved rounds"
printf '%-28s %8s MiB/s\n' "direct from S3 (SigV4)" "$direct" "through edgefront" "$edge" "through nginx proxy_pass" "$nginx"
echo "edgefront / direct throughput: ${edge_ratio}x (median of the rounds' ratios)"
echo "nginx / direct throughput:     ${nginx_ratio}x"
echo "edgefront / nginx throughput:  $(ratio "$edge" "$nginx")x"
echo "CPU per GiB streamed: edgefront ${edge_cpu} s, nginx ${nginx_cpu} s (user and system; clock ticks of $((1000 / hz)) ms)"
echo "edgefront peak RSS: $rss MiB"
