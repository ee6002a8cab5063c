#!/usr/bin/env python3
"""The reference scripts' table: one row per run folder under ROOT (each with trial-*/summary.json):
RTO p50/max, the engine's phases, the predicted band and how many trials fell inside, losses and
duplicates (one check per run), each exposure window with what was acknowledged inside it, and
each old primary left running (split brain) with what it acknowledged beside the new one.
    scripts/trials-table.py ROOT
"""
import json, os, sys, statistics
root = sys.argv[1]
b = os.path.join(root, "bringup.txt")
if os.path.exists(b):
    print(open(b).read())
print("| run | trials | RTO p50 ms | RTO max ms | detected p50 | promoted/restarted p50 | endpoint ready p50 | predicted band ms | inside | lost | duplicated |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if not os.path.isdir(d) or name == "compare":
        continue
    trials, exposures, splits = [], [], []
    for dirpath, _, files in os.walk(d):
        if "summary.json" in files and "trial-" in dirpath:
            s = json.load(open(os.path.join(dirpath, "summary.json")))
            for t in (s.get("failover") or {}).get("trials", []):
                trials.append((t, s.get("check") or {}))
            if s.get("exposure"):
                exposures.append(s["exposure"])
            if s.get("split_brain"):
                splits.append((s["split_brain"], (s.get("failover") or {}).get("trials", [{}])[0]))
    if not trials:
        print(f"| {name} | 0 | no trial finished | | | | | | | | |")
        continue
    def p50(key):
        v = [t[key] for t, _ in trials if t.get(key) is not None]
        return f"{statistics.median(v):.0f}" if v else "-"
    rto = [t["rto_ms"] for t, _ in trials if t.get("rto_ms") is not None] or [float("nan")]
    bands = {(t["band"]["lo_ms"], t["band"]["hi_ms"]) for t, _ in trials if t.get("band")}
    inside = sum(1 for t, _ in trials if (t.get("band") or {}).get("inside"))
    verdict = f"{inside}/{len(trials)}" if bands else "no band"
    # A run with several faults has one check: count it once.
    checks = list({id(c): c for _, c in trials}.values())
    lost = sum(c.get("lost", 0) for c in checks)
    dup = sum(c.get("duplicated", 0) for c in checks)
    unchecked = sum(1 for c in checks if "error" in c)
    if unchecked:
        lost = f"{lost} ({unchecked} runs not checked: {checks[0].get('error', '')[:60]})"
    band = ", ".join(f"{lo:.0f}-{hi:.0f}" for lo, hi in sorted(bands))
    print(f"| {name} | {len(trials)} | {statistics.median(rto):.0f} | {max(rto):.0f} | {p50('detected_ms')} | {p50('promoted_ms')} "
          f"| {p50('endpoint_ready_ms')} | {band} | {verdict} | {lost} | {dup} |")
    print("|  | RTO each: " + ", ".join(f"{r:.0f}" for r in rto) + " | | | | | | | | | |")
    for i, s in enumerate(exposures):
        for w in s.get("windows", []):
            end = "open at the end" if w.get("end_s") is None else f"{w['end_s']:.1f} s"
            print(f"|  | window, trial {i + 1}: {w['start_s']:.1f} s to {end}, {w['acked']} publishes acknowledged inside, "
                  f"{w['lost']} lost; cause: {w['cause']} | | | | | | | | | |")
    for i, (b, t) in enumerate(splits):
        stop = b.get("fenced_s")
        inj = t.get("injected_at_s")
        stopped = f"stopped {stop - inj:.1f} s after the cut" if stop is not None and inj is not None else "never stopped"
        prom = f"{b['promoted_node']} promoted {b['promoted_s'] - inj:.1f} s after the cut" if b.get("promoted_s") and inj else "no promotion"
        print(f"|  | split brain, trial {i + 1}: {b['node']} {stopped}; {prom}; acknowledged after the promotion: "
              f"{b['acked']} ({b['lost']} lost) | | | | | | | | | |")
print()
c = os.path.join(root, "compare", "comparison.md")
if os.path.exists(c):
    print(open(c).read())
