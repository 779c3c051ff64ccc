#!/usr/bin/env bash
# What signed URLs cost: requests/s for a small object from a dir origin,
# through a behavior that requires a CloudFront signed URL against one that
# does not, with nginx serving the same file in the same run for scale.
#
#   bash bench/signed.sh             # 10 s per run, 64 connections
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}

need nginx wrk curl

NGINX=127.0.0.1:18401 EDGE=127.0.0.1:18402
mkdir -p "$work/files" "$work/nginx"
chmod 755 "$work"   # nginx workers read the file as another user
printf 'quarter,orders,revenue\n2026-Q1,1204,98211.50\n' >"$work/files/report.csv"
go build -o "$work/edgefront" ./cmd/edgefront
"$work/edgefront" keygen --out "$work/keys" >/dev/null
cat >"$work/edgefront.yaml" <<CONF
listen: {http: "$EDGE"}
key_groups:
  signers: [{id: K2JCJMDEHXQW5F, public_key_file: $work/keys/public_key.pem}]
distributions:
  - name: bench
    origins: {files: {type: dir, root: $work/files}}
    behaviors:
      - {path_pattern: "/private/*", target_origin: files, strip_prefix: /private, trusted_key_groups: [signers]}
      - {path_pattern: "/public/*", target_origin: files, strip_prefix: /public}
    default_behavior: {target_origin: files}
CONF
cat >"$work/nginx/nginx.conf" <<CONF
daemon off; worker_processes auto; error_log stderr error; pid $work/nginx/pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen $NGINX; root $work/files; location /public/ { alias $work/files/; } } }
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)
"$work/edgefront" serve -c "$work/edgefront.yaml" >"$work/edgefront.log" 2>&1 & pids+=($!)
for addr in $NGINX $EDGE; do
  for _ in $(seq 50); do curl -fsS -o /dev/null "http://$addr/public/report.csv" 2>/dev/null && break; sleep 0.1; done
done
signed=$("$work/edgefront" sign --url "http://$EDGE/private/report.csv" --key-pair-id K2JCJMDEHXQW5F --private-key "$work/keys/private_key.pem" --expires 1h)
curl -fsS -o /dev/null "$signed"
if curl -fsS -o /dev/null "http://$EDGE/private/report.csv" 2>/dev/null; then echo "unsigned request was served"; exit 1; fi

declare -A rps p99
load() { # name url
  wrk -t"$THREADS" -c"$CONNS" -d2s "$2" >/dev/null
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$2")
  if grep -q "Non-2xx" <<<"$out"; then echo "$out"; exit 1; fi
  rps[$1]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99[$1]=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '%-28s %10.0f req/s   p99 %s\n' "$1" "${rps[$1]}" "${p99[$1]}"
}
echo "machine: $(nproc) cores, $(uname -sr); wrk -t$THREADS -c$CONNS -d$DURATION; a 47-byte object from a dir origin"
load "nginx static" "http://$NGINX/public/report.csv"
load "edgefront unsigned" "http://$EDGE/public/report.csv"
load "edgefront signed URL" "$signed"
echo "signed / unsigned requests/s: $(ratio "${rps[edgefront signed URL]}" "${rps[edgefront unsigned]}")x"
echo "edgefront unsigned / nginx:   $(ratio "${rps[edgefront unsigned]}" "${rps[nginx static]}")x"
