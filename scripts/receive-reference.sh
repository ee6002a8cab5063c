#!/usr/bin/env bash
# The receive-location figures of results/REFERENCE.md, reproducible: duplicate receives per
# 10,000 files for 1, 2 and 4 instances without locks, then exclusive and clustered (with a
# receive instance killed), 3 runs each (seeds 1-3). 200 files/s for 50 s = ~10,000 files a run.
#   scripts/receive-reference.sh [habench binary]
set -euo pipefail
bin=${1:-target/release/habench}
root=results/receive-ref-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$root"
run() { local name=$1; shift; echo "== $name: $*" >&2; "$bin" run receive "$@" --rate 200 --duration 50s --quiet --out "$root/$name" > "$root/$name.out" 2> "$root/$name.err" || echo "  ($name exited non-zero)" >&2; }

for seed in 1 2 3; do
  for n in 1 2 4; do run "none-$n-seed$seed" --receive-lock none --receive-instances $n --seed $seed; done
  run "exclusive-4-seed$seed" --receive-lock exclusive --receive-instances 4 --seed $seed
  run "clustered-2-seed$seed" --receive-lock clustered --receive-instances 2 --seed $seed --fault kill-receive-instance@25s
done

python3 - "$root" <<'PY'
import json, os, sys
root = sys.argv[1]
print("| run | files | messages | duplicates | per 10k | incomplete | per 10k | never whole | pickup p50/p99 ms | takeover ms | read again |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name, "summary.json")
    if not os.path.isfile(p): continue
    s = json.load(open(p)); r = s["receive"]; d = r.get("pickup_delay_ms") or {}
    k = (r.get("kills") or [{}])[0]
    print(f"| {name} | {r['files_written']} | {r['receipts']} | {r['duplicate_receipts']} | {r['duplicates_per_10k']:.0f} | "
          f"{r['incomplete_reads']} | {r['incomplete_per_10k']:.0f} | {r['files_never_whole']} | "
          f"{d.get('p50', 0):.0f}/{d.get('p99', 0):.0f} | {k.get('takeover_ms', 0) or 0:.0f} | {k.get('read_again', '-')} |"
          + ("" if s.get("complete") and s["check"]["valid"] else " (incomplete or invalid)"))
PY
