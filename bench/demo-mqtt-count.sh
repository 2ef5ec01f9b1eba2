#!/usr/bin/env bash
# What a NOC subscriber receives during one loop of the demo (deploy/demo.sh with Home Assistant discovery on):
# messages per topic kind, the most health messages in one second, and health messages whose worst severity is
# warning or worse while their problems list is empty. Counted over 60 s from 3 s before the first event (PSU 2
# fails at t = 3 s).
#   bench/demo-mqtt-count.sh [SECONDS] [CHECKOUT]     # default 75 s, this checkout
# To compare with an older commit: git worktree add /tmp/old <rev>; bench/demo-mqtt-count.sh 75 /tmp/old
# Ports: DEMO_MQTT_PORT (18870), DEMO_REDFISH_PORT (18480) unless set; a fresh loopback mosquitto is started on them.
set -euo pipefail
SECONDS_RUN="${1:-75}"
TREE="$(cd "${2:-$(dirname "$0")/..}" && pwd)"
OUT="$(mktemp -d /tmp/healthagent-demo-count.XXXXXX)"
MQTT_PORT="${DEMO_MQTT_PORT:-18870}"
REDFISH_PORT="${DEMO_REDFISH_PORT:-18480}"

(cd "$TREE" && DEMO_MQTT_PORT="$MQTT_PORT" DEMO_REDFISH_PORT="$REDFISH_PORT" DEMO_DIR="$OUT" \
  HEALTHAGENT_PUBLISHERS__MQTT__HOMEASSISTANTDISCOVERY=true exec deploy/demo.sh) > "$OUT/demo.out" 2>&1 &
demo=$!
for _ in $(seq 240); do (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null && break; sleep 0.25; done
mosquitto_sub -p "$MQTT_PORT" -t 'homeassistant/#' -t 'healthagent/#' -F '%I %t %p' > "$OUT/sub.txt" 2>&1 &
sub=$!
sleep "$SECONDS_RUN"
kill -TERM "$demo"; wait "$demo" || true
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null || true

python3 - "$OUT/sub.txt" "$TREE" <<'PY'
import collections, datetime, json, sys
rows = [l.rstrip('\n').split(' ', 2) for l in open(sys.argv[1]) if l.count(' ') >= 2]
at = lambda ts: datetime.datetime.strptime(ts[:19], '%Y-%m-%dT%H:%M:%S')
first = next((at(ts) for ts, topic, _ in rows if '/event/' in topic), None)
if first is None: sys.exit('no event seen: is the demo running? see the demo.out next to ' + sys.argv[1])
start = first - datetime.timedelta(seconds=3)
window = [r for r in rows if start <= at(r[0]) < start + datetime.timedelta(seconds=60)]
kinds, per_second, inconsistent = collections.Counter(), collections.Counter(), 0
for ts, topic, payload in window:
    kind = 'health' if topic.endswith('/health') else next((k for k in ('event', 'part', 'state') if f'/{k}/' in topic), topic.split('/')[0] + '/' + topic.split('/')[1])
    kinds[kind] += 1
    if kind == 'health' and payload:
        per_second[ts[:19]] += 1
        h = json.loads(payload)
        inconsistent += h['worst'] in ('warning', 'critical') and not h.get('problems')
print(f"{sys.argv[2]}: one demo loop: " + ', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))
      + f"; most health/s {max(per_second.values(), default=0)}; health worst>=warning with no problem {inconsistent}")
PY
echo "(capture: $OUT/sub.txt; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
