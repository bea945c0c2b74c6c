#!/usr/bin/env bash
# Times the built-in default matrix on virtual boards (virtual time), and
# reports how long the same matrix keeps a real board busy: the scenarios'
# own device time (RunEnd.t_us - RunStart.t_us, summed over cells), which
# hardware needs in wall-clock time, before reboots, Wi-Fi association and
# flashing one image per variant are added.
#
#   scripts/bench-matrix.sh [RUNS]      (default 3 runs)
#
# Target (issue "Peer server and matrix runner"): under 60 s on a 2-core machine.
# The default matrix has 6 repetitions (180 cells); measured 2026-12-01 on the
# shared 2-core machine (load average 13 to 18): 4.71 to 10.81 s wall per run
# over 6 runs, 48.6 to 48.9 min device time; idle (load average 0.6): 2.05 to 2.30 s
# over 3 runs; 2.33 to 2.46 s over 3 runs after the QEMU calibration of the model.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

go build -o "$work/wsbench" ./cmd/wsbench
echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3)"
best=""
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  "$work/wsbench" run --plain --results "$work/results" --run-id "bench$i" >"$work/run$i.log" 2>&1
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  cells=$(grep -c '^\[' "$work/run$i.log" || true)
  printf 'run %d: %6.2f s wall for %s cells (analysis and report included)\n' "$i" "$t" "$cells"
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done

# Device time of the last run: what a real board spends running the scenarios.
device_us=0
for rec in "$work/results/bench$runs"/cells/*/records.msgp; do
  us=$("$work/wsbench" decode --json "$rec" | awk -F'"t_us":' '
    /"type":"run_start"/ { split($2, a, /[,}]/); s = a[1] }
    /"type":"run_end"/   { split($2, a, /[,}]/); e = a[1] }
    END { if (s != "" && e != "") print e - s; else print 0 }')
  device_us=$((device_us + us))
done
device_s=$(echo "scale=1; $device_us / 1000000" | bc)
ratio=$(echo "scale=0; $device_us / 1000000 / $best" | bc)
printf 'best wall time: %.2f s\n' "$best"
printf 'device time of the scenarios: %s s (%.1f min) on a real board, before reboots and flashing\n' "$device_s" "$(echo "$device_s / 60" | bc -l)"
printf 'virtual board speed-up: about %sx\n' "$ratio"
