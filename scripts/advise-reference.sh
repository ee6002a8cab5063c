#!/usr/bin/env bash
# The REFERENCE figures of `habench advise` (release build; run nothing else on the machine
# meanwhile: the capacity searches share its two cores):
#  1. the quick decision: default designs, node crash, one trial, quick capacity steps;
#  2. the same load with --rto 5s --tune, the capacity searches reused from 1;
#  3. the default plan: default designs, node crash and postmaster kill, 3 trials, full steps.
# Prints each decision's answer and how long it took; the folders hold advise.md/html/json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
cargo build --release -q
bin=target/release/habench
quick=results/advise-quick-$stamp
timed() {
  local t0; t0=$(date +%s)
  "$@" > "$work/out.md"
  echo "took $(( $(date +%s) - t0 )) s: $*"
  sed -n 3p "$work/out.md"
}
timed "$bin" advise --load 200/s --rpo 0 --rto 30s --quick --out "$quick"
reuse=()
for d in shared-disk sync async patroni; do reuse+=(--reuse "$quick/capacity-$d"); done
timed "$bin" advise --load 200/s --rpo 0 --rto 5s --quick --tune \
  --designs single,shared-disk,sync,async,patroni "${reuse[@]}" --out "$quick-rto5"
timed "$bin" advise --load 200/s --rpo 0 --rto 30s --out "results/advise-full-$stamp"
