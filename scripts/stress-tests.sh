#!/usr/bin/env bash
# stress-tests.sh: run the whole test suite N times in a row while busy loops
# load the CPU, to find tests that hang or flake on a loaded machine (issue 10).
#
#   scripts/stress-tests.sh [N] [--race] [--load K] [--procs P] [--timeout D] [-- PACKAGES]
#
#   N            runs of `go test -count=1 ./...` (default 5)
#   --race       run `go test -race -count=1 ./...` instead
#   --load K     busy loops to run beside the tests (default 2: both cores of
#                a 2-core machine; 0 runs unloaded)
#   --procs P    GOMAXPROCS for the tests (default: unset, all CPUs); 1 is the
#                harshest scheduling (it made issue 10's hang happen at once)
#   --timeout D  go test -timeout per package binary (default 10m, go test's own)
#   PACKAGES     what to test (default ./...)
#
# For each run it prints pass or FAIL, the wall time, package counts, the
# failed tests and the slowest packages; at the end, how many runs passed and
# the slowest packages over all runs. Logs (go test -json) are kept in a
# temporary directory, printed at the end. The busy loops are bounded in time
# (they end by themselves after N x 20 minutes at most) and are killed when the
# script exits, however it exits. Exit status: 0 when every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 race=() load=2 timeout=10m pkgs=(./...)
while (($#)); do
  case "$1" in
    --) shift; (($#)) && pkgs=("$@"); break ;;
    --race) race=(-race) ;;
    --load) load="${2:?--load needs a number}"; shift ;;
    --timeout) timeout="${2:?--timeout needs a duration}"; shift ;;
    --procs) export GOMAXPROCS="${2:?--procs needs a number}"; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*|'') echo "stress-tests.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) runs="$1" ;;
  esac
  shift
done
((runs > 0)) || { echo "stress-tests.sh: N must be at least 1" >&2; exit 2; }

logs="$(mktemp -d "${TMPDIR:-/tmp}/wsbench-stress.XXXXXX")"
loaders=()
gotest="" # process group of the running go test (it leads a session of its own)
cleanup() {
  local pid
  if [ -n "$gotest" ]; then
    kill -TERM -- "-$gotest" 2>/dev/null || true
    wait "$gotest" 2>/dev/null || true
    gotest=""
  fi
  for pid in "${loaders[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${loaders[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  loaders=()
}
trap cleanup EXIT
trap 'echo "stress-tests.sh: interrupted" >&2; exit 130' INT TERM

# Build first (not timed, not loaded), so run 1 measures the tests, not the
# compiler, like the runs after it.
echo "== building test binaries"
go test "${race[@]}" -count=1 -run '^$' "${pkgs[@]}" >"$logs/build.log" 2>&1 || {
  cat "$logs/build.log" >&2
  echo "stress-tests.sh: build failed" >&2
  exit 1
}

bound=$((runs * 20 * 60)) # seconds: a hard end for the busy loops
for ((i = 0; i < load; i++)); do
  timeout "$bound" sh -c 'while :; do :; done' &
  loaders+=("$!")
done
echo "== $runs run(s) of go test${race[*]:+ ${race[*]}} -count=1 -timeout $timeout ${pkgs[*]} beside $load busy loop(s) on $(nproc) CPU(s)${GOMAXPROCS:+, GOMAXPROCS=$GOMAXPROCS}"
echo "   logs: $logs"

# pkgtimes FILE: "elapsed result package" for every package in a go test -json log.
pkgtimes() {
  grep -v '"Test":' "$1" |
    sed -n 's/.*"Action":"\(pass\|fail\|skip\)","Package":"\([^"]*\)","Elapsed":\([0-9.]*\).*/\3 \1 \2/p'
}

passed=0
for ((r = 1; r <= runs; r++)); do
  log="$logs/run$r.json"
  start=$(date +%s.%N)
  rc=0
  # In the background, in a session of its own, so that an interrupt is
  # handled at once (bash runs traps only between foreground commands) and
  # ends go test and the test binaries it started.
  setsid go test "${race[@]}" -count=1 -timeout "$timeout" -json "${pkgs[@]}" >"$log" 2>"$logs/run$r.stderr" &
  gotest=$!
  wait "$gotest" || rc=$?
  gotest=""
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  pkgtimes "$log" >"$logs/run$r.pkgs"
  npass=$(grep -c ' pass ' "$logs/run$r.pkgs" || true)
  nfail=$(grep -c ' fail ' "$logs/run$r.pkgs" || true)
  # Packages that failed to build or whose binary died have no test2json
  # package line with a result; go test's exit status still says so.
  if ((rc == 0)); then
    passed=$((passed + 1))
    verdict=pass
  else
    verdict=FAIL
  fi
  printf 'run %d/%d: %-4s  wall %6.1f s  packages: %d ok, %d failed\n' "$r" "$runs" "$verdict" "$wall" "$npass" "$nfail"
  if ((rc != 0)); then
    grep '"Action":"fail"' "$log" | grep '"Test":' |
      sed 's/.*"Package":"\([^"]*\)","Test":"\([^"]*\)".*/    failed: \1 \2/' | sort -u || true
    # A timeout's panic names the tests still running ("\t\tTestX (9m57s)").
    grep '"Output":"panic: test timed out\|"Output":"\\t\\t[A-Z][^ ]* (' "$log" |
      sed 's/.*"Package":"\([^"]*\)".*"Output":"\(.*\)\\n"}$/    \1: \2/; s/\\t//g' | head -20 || true
    grep -h 'build failed\|^FAIL' "$logs/run$r.stderr" 2>/dev/null | sed 's/^/    /' | head -10 || true
  fi
  echo "    slowest packages:"
  grep -v ' skip ' "$logs/run$r.pkgs" | sort -rn | head -5 |
    awk '{ p = $3; sub("^github.com/wsbench/wsbench/", "", p); printf "      %7.1f s  %s\n", $1, p }'
  echo "$wall" >>"$logs/walls"
done

cleanup
echo "== $passed of $runs runs passed (go test${race[*]:+ ${race[*]}} -count=1 beside $load busy loop(s))"
echo "   wall times (s): $(awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 }' "$logs/walls")"
echo "   slowest packages over all runs (max elapsed):"
grep -hv ' skip ' "$logs"/run*.pkgs | awk '!($3 in max) || $1 > max[$3] { max[$3] = $1 } END { for (p in max) print max[p], p }' |
  sort -rn | head -5 | awk '{ p = $2; sub("^github.com/wsbench/wsbench/", "", p); printf "      %7.1f s  %s\n", $1, p }'
echo "   slowest tests over all runs (top-level, max elapsed):"
cat "$logs"/run*.json | grep '"Action":"\(pass\|fail\)"' | grep '"Test":' | grep -v '"Test":"[^"]*/' |
  sed 's/.*"Package":"\([^"]*\)","Test":"\([^"]*\)","Elapsed":\([0-9.]*\).*/\3 \1 \2/' |
  awk '{ k = $2 " " $3 } !(k in max) || $1 > max[k] { max[k] = $1 } END { for (k in max) print max[k], k }' |
  sort -rn | head -5 | awk '{ p = $2; sub("^github.com/wsbench/wsbench/", "", p); printf "      %7.1f s  %s %s\n", $1, p, $3 }'
echo "   logs: $logs"
((passed == runs))
