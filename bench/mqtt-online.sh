#!/bin/sh
# MQTT `online` time after start: from exec of `healthagent run` (no sources, MQTT to a local mosquitto) to the
# moment a mosquitto_sub sees the agent's retained `online` on <prefix>/<agent>/status (%U: its receive time, ns).
# Usage: bench/mqtt-online.sh [ROUNDS] [AGENT]   AGENT: an apphost (e.g. the trimmed or AOT publish) or a .dll run
# with `dotnet` (default: the Release build of src/HealthAgent). Prints one line per round and the median.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
AGENT=${2:-src/HealthAgent/bin/Release/net10.0/healthagent.dll}
case "$AGENT" in *.dll) RUN="dotnet $AGENT" ;; *) RUN="$AGENT" ;; esac
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" 2>/dev/null &
BROKER=$!
trap 'kill $BROKER 2>/dev/null; rm -rf "$DIR"' EXIT
cat > "$DIR/agent.json" <<JSON
{ "agentId": "online-bench", "stateDirectory": "$DIR/state",
  "sources": { "redfish": { "enabled": false }, "frontPanel": { "enabled": false }, "hwmon": { "enabled": false }, "nic": { "enabled": false },
               "smart": { "enabled": false }, "mdraid": { "enabled": false }, "powersupply": { "enabled": false } },
  "publishers": { "mqtt": { "host": "127.0.0.1", "port": $PORT, "willDelaySeconds": 0 }, "otlp": { "enabled": false } },
  "web": { "enabled": false } }
JSON
sleep 0.3
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uptime | sed 's/.*load/load/'), agent: $RUN"
: > "$DIR/all"
for i in $(seq 1 "$ROUNDS"); do
  mosquitto_sub -p "$PORT" -t healthagent/v1/online-bench/status -F '%U %p' -R > "$DIR/sub" &
  SUB=$!
  sleep 0.3
  start=$(date +%s%N)
  $RUN run --config "$DIR/agent.json" > "$DIR/agent.log" 2>&1 &
  PID=$!
  n=0
  until grep -q ' online$' "$DIR/sub" 2>/dev/null; do
    sleep 0.01; n=$((n + 1))
    if [ $n -ge 1000 ] || ! kill -0 $PID 2>/dev/null && ! grep -q ' online$' "$DIR/sub"; then
      echo "round $i: no 'online' within 10 s or the agent exited; its output:" >&2; cat "$DIR/agent.log" >&2
      kill $PID $SUB 2>/dev/null; exit 1
    fi
  done
  at=$(grep ' online$' "$DIR/sub" | head -1 | cut -d' ' -f1 | tr -d .)
  ms=$(( (at - start) / 1000000 ))
  echo "round $i: online after $ms ms"
  echo "$ms" >> "$DIR/all"
  kill -TERM $PID; wait $PID || true
  kill $SUB; wait $SUB 2>/dev/null || true
done
echo "median: $(sort -n "$DIR/all" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms"
