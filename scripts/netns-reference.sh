#!/usr/bin/env bash
# The network-namespace figures of results/REFERENCE.md, reproducible (as root, with nftables):
# bring-up of `sync --standbys 2` on loopback and with `--net namespaces`, alternated N times
# (`topology up`'s up_ms), then whether anything is left.
#   scripts/netns-reference.sh [habench binary] [rounds]
set -euo pipefail
bin=${1:-target/release/habench}
n=${2:-8}
up_ms() {
  local out pid
  out=$(mktemp)
  "$bin" topology up sync --standbys 2 "$@" >"$out" 2>/dev/null &
  pid=$!
  until [ -s "$out" ]; do kill -0 "$pid" 2>/dev/null || { echo "habench exited early" >&2; exit 1; }; sleep 0.05; done
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["up_ms"]))' "$out"
  kill -TERM "$pid"; wait "$pid" || true; rm -f "$out"
}
loop=(); ns=()
for _ in $(seq "$n"); do
  loop+=("$(up_ms --net loopback)")
  ns+=("$(up_ms --net namespaces)")
done
echo "bring-up ms, sync --standbys 2, loopback:   ${loop[*]}"
echo "bring-up ms, sync --standbys 2, namespaces: ${ns[*]}"
python3 - "${loop[*]}" "${ns[*]}" <<'PY'
import statistics, sys
a = [int(x) for x in sys.argv[1].split()]; b = [int(x) for x in sys.argv[2].split()]
print(f"median loopback {statistics.median(a):.0f} ms, namespaces {statistics.median(b):.0f} ms, "
      f"difference {statistics.median(b) - statistics.median(a):+.0f} ms")
PY
echo "left: $(ip netns list | grep -c '^hb' || true) namespaces, $(pgrep -c -x postgres || true) postgres processes"
