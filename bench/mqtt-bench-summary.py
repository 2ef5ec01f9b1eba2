#!/usr/bin/env python3
"""Summarise bench/mqtt-bench.sh output (JSON lines) into the markdown table of docs/performance-mqtt.md: medians per
configuration and the ratio to the median `mosquitto_pub -l -q 1` rate of the same run."""
import json, statistics, sys

runs, refs = {}, []
for line in open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin:
    line = line.strip()
    if not line or line.startswith('#'):
        if line: print('Run ' + line.lstrip('# ') + '  ')
        continue
    d = json.loads(line)
    if 'reference' in d:
        refs.append(d)
        continue
    runs.setdefault((d['qos'], d['connections'], d['payloadBytes']), []).append(d)

ref = statistics.median(r['messagesPerSecond'] for r in refs)
ref_cpu = statistics.median(r['cpuMicrosecondsPerMessage'] for r in refs)
print(f"reference mosquitto_pub -l -q 1: median {ref:,.0f} msg/s over {len(refs)} runs "
      f"(min {min(r['messagesPerSecond'] for r in refs):,.0f}, max {max(r['messagesPerSecond'] for r in refs):,.0f}), {ref_cpu:.2f} µs CPU/msg\n")
print("| QoS | connections | payload | messages/s (median) | min–max | MB/s | allocated B/msg | CPU µs/msg | ratio to mosquitto_pub |")
print("|---|---|---|---|---|---|---|---|---|")
for (q, c, s), rs in sorted(runs.items()):
    m = statistics.median(r['messagesPerSecond'] for r in rs)
    print(f"| {q} | {c} | {s} B | {m:,.0f} | {min(r['messagesPerSecond'] for r in rs):,.0f}–{max(r['messagesPerSecond'] for r in rs):,.0f} "
          f"| {statistics.median(r['mbPerSecond'] for r in rs):,.1f} | {statistics.median(r['allocatedBytesPerMessage'] for r in rs):.1f} "
          f"| {statistics.median(r['cpuMicrosecondsPerMessage'] for r in rs):.2f} | {m / ref:.2f} |")
