# Shared by the benchmark scripts: sourced, not run.

# need CMD...: installs with apt-get the Debian packages of the same names
# as the commands that are missing.
need() {
  local missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# A scratch directory, and the background processes to stop, both cleaned
# up on exit.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# ratio A B prints A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# to_ms turns wrk's "1.23ms" / "850.00us" / "1.02s" into milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
    printf "%.3f", n }'
}

# median prints the median of the numbers on standard input, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# EDGE_GOMAXPROCS=N runs edgefront and the Go floors with GOMAXPROCS=N
# (Go's default is a P a core): $goprocs goes before their commands, and
# say_goprocs prints the setting when there is one.
goprocs=${EDGE_GOMAXPROCS:+env GOMAXPROCS=$EDGE_GOMAXPROCS}
say_goprocs() {
  if [ -n "${EDGE_GOMAXPROCS:-}" ]; then echo "edgefront and the Go floors run with GOMAXPROCS=$EDGE_GOMAXPROCS"; fi
}
