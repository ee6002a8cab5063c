#!/usr/bin/env bash
# The failover figures of results/REFERENCE.md, reproducible: every run writes its own folder
# under results/failover-ref-<stamp>/ and the key numbers are printed at the end.
#   scripts/failover-reference.sh [habench binary]
set -euo pipefail
bin=${1:-target/release/habench}
root=results/failover-ref-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$root"
run() { local name=$1; shift; echo "== $name: $*" >&2; "$bin" run "$@" --quiet --out "$root/$name" > "$root/$name.out" 2> "$root/$name.err" || echo "  ($name exited non-zero)" >&2; }

# Synchronous replicas (FIRST 1 of 2, on), primary killed, 5 trials, WSFC-style detection 1 s x 10.
run sync-kill quick --topology sync --standbys 2 --sync-commit on --rate 300 \
  --warmup 3s --duration 25s --fault kill-primary@10s --trials 5
# Shared disk, primary killed after 10 s and after 60 s of heavy load with no checkpoint between.
for load in 10 60; do
  run "shared-disk-${load}s" quick --topology shared-disk --rate 800 --warmup 2s \
    --duration $((load + 30))s --fault kill-primary@${load}s \
    --pg-set checkpoint_timeout=30min --pg-set max_wal_size=20GB
done
# A host instance dies holding its batch.
run host-instance quick --rate 300 --warmup 2s --duration 20s --fault kill-host-instance@5s
# The comparison scenario as shipped.
run compare failover-compare

python3 - "$root" <<'PY'
import json, os, sys
root = sys.argv[1]
def load(p):
    with open(p) as f: return json.load(f)
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name, "summary.json")
    if not os.path.isfile(p): continue
    s = load(p)
    if "variants" in s:
        for v in s["variants"]:
            print(name, v["variant"], "runs", v["runs"], "rto_ms", v["rto_ms"], "detected_ms", v["detected_ms"],
                  "recovery_ms", v["recovery_ms"], "lost", v["lost"], "duplicated", v["duplicated"])
        for t in s["failover"]["trials"]:
            print("   trial", t["variant"], t["trial"], {k: round(t[k]) if isinstance(t[k], float) else t[k] for k in
                  ["detected_ms", "fenced_ms", "promoted_ms", "endpoint_ready_ms", "rto_ms", "p99_recovered_ms", "backlog_recovered_ms", "recovery_ms"]})
    else:
        t = s.get("failover", {}).get("trials", [{}])[0]
        print(name, "rto_ms", t.get("rto_ms"), "detected", t.get("detected_ms"), "recovery_ms", t.get("recovery_ms"),
              "check", {k: s["check"][k] for k in ["acknowledged", "lost", "duplicated", "recovered", "valid"]},
              "dequeue", s["dequeue"], "publish_p99_us", s["latency_us"]["publish"]["p99"])
        mf = load(os.path.join(root, name, "manifest.json"))
PY
echo "results in $root"
