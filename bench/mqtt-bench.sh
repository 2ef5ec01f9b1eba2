#!/bin/sh
# Outbox drain benchmark: events/s from a 100,000-row MQTT outbox (state.db) to a local mosquitto, through the real
# pipeline and MQTT publisher (MQTTnet), with a mosquitto_sub -q 1 subscriber that checks every event arrived.
# Usage: bench/mqtt-bench.sh [ROUNDS] [ROWS]   (builds bench/HealthAgent.Benchmarks in Release first)
# Broker: Debian mosquitto 2.0 defaults (max_inflight_messages 20 → Receive Maximum 20), loopback; only the
# subscriber's queue is unbounded so that the check counts what the drain delivered.
# Prints one JSON line per round (OutboxDrain.cs) plus what the subscriber received.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
ROWS=${2:-100000}
dotnet build bench/HealthAgent.Benchmarks -c Release -nologo -v quiet >/dev/null
BENCH=bench/HealthAgent.Benchmarks/bin/Release/net10.0/HealthAgent.Benchmarks.dll
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
cat > "$DIR/mosquitto.conf" <<CONF
user root
listener $PORT 127.0.0.1
allow_anonymous true
# the checking subscriber is slower than the drain on a busy machine: queue for it without limit (default 1000 drops)
max_queued_messages 0
CONF
mosquitto -c "$DIR/mosquitto.conf" 2>"$DIR/log" &
BROKER=$!
trap 'kill $BROKER; rm -rf "$DIR"' EXIT
sleep 0.5
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uptime | sed 's/.*load/load/'), mosquitto $(mosquitto -h | head -1 | cut -d' ' -f3), port $PORT, $ROWS rows"
for round in $(seq 1 "$ROUNDS"); do
  mosquitto_sub -p "$PORT" -q 1 -i "drain-check-$round" -t 'healthagent/v1/bench/event/#' -C "$ROWS" -W 600 > "$DIR/received" &
  SUB=$!
  sleep 0.3
  dotnet "$BENCH" drain "$PORT" "$ROWS"
  wait $SUB || true
  echo "{\"subscriberReceived\":$(wc -l < "$DIR/received")}"
done
