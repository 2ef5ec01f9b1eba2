#!/bin/sh
# Benchmark `healthagent mqtt bench` against a local mosquitto, with `mosquitto_pub -l -q 1` as the reference.
# Usage: bench/mqtt-bench.sh [ROUNDS]   (Release build of src/HealthAgent first: dotnet build src/HealthAgent -c Release)
# Prints one JSON line per run; the reference runs are interleaved with ours so both see the same machine load.
set -eu
ROUNDS=${1:-3}
DLL=${DLL:-src/HealthAgent/bin/Release/net10.0/healthagent.dll}
# 60,000, not more: mosquitto_pub -l -q 1 disconnects when the PUBACK for the *last* line's message id arrives; ids
# wrap at 65,535, so with 100,000 lines it stops after ~34,500 messages (checked with a subscriber) and its rate
# would count 100,000 lines of which two thirds were never sent.
N=${N:-60000}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
cat > "$DIR/mosquitto.conf" <<CONF
user root
listener $PORT 127.0.0.1
allow_anonymous true
${NODELAY:+set_tcp_nodelay true}
CONF
mosquitto -c "$DIR/mosquitto.conf" 2>"$DIR/log" &
BROKER=$!
trap 'kill $BROKER; rm -rf "$DIR"' EXIT
sleep 0.5
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uptime | sed 's/.*load/load/'), mosquitto $(mosquitto -h | head -1 | cut -d' ' -f3), port $PORT"
reference() {
  seq 1 "$N" | /usr/bin/time -f "%e %U %S" -o "$DIR/time" mosquitto_pub -p "$PORT" -l -q 1 -t t
  read -r wall user sys < "$DIR/time"
  echo "{\"reference\":\"seq 1 $N | mosquitto_pub -l -q 1 -t t\",\"seconds\":$wall,\"messagesPerSecond\":$(echo "$N / $wall" | bc),\"cpuMicrosecondsPerMessage\":$(echo "scale=3; ($user + $sys) * 1000000 / $N" | bc)}"
}
for round in $(seq 1 "$ROUNDS"); do
  reference
  for qos in 1 0; do
    for c in 1 8; do
      for s in 16 4096; do
        dotnet "$DLL" mqtt bench -p "$PORT" -t bench -n "$N" -s "$s" -q "$qos" -c "$c" --json
        echo
      done
    done
  done
done
