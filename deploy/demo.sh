#!/usr/bin/env bash
# The demo: a simulated appliance (Redfish BMC + serial front panel, looping fault scenario) plus this machine's
# real Linux sources, watched by `healthagent run`, published to a loopback mosquitto.
# Within ~15 s you see component states and an explained fault (PSU 2 fails at t=3 s) in this console and on MQTT.
#   deploy/demo.sh                 # Ctrl+C stops everything it started
# Environment: DEMO_MQTT_PORT (1883), DEMO_REDFISH_PORT (8443), DEMO_DIR (/tmp/healthagent-demo).
set -euo pipefail
cd "$(dirname "$0")/.."

MQTT_PORT="${DEMO_MQTT_PORT:-1883}"
REDFISH_PORT="${DEMO_REDFISH_PORT:-8443}"
DEMO_DIR="${DEMO_DIR:-/tmp/healthagent-demo}"
mkdir -p "$DEMO_DIR"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 1. mosquitto (Debian packages mosquitto + mosquitto-clients), installed when missing.
if ! command -v mosquitto >/dev/null || ! command -v mosquitto_sub >/dev/null; then
  echo "Installing mosquitto and mosquitto-clients (apt-get)…"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients >/dev/null
fi
if listening "$MQTT_PORT"; then
  echo "Using the MQTT broker already listening on 127.0.0.1:$MQTT_PORT"
else
  cat > "$DEMO_DIR/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
CONF
  mosquitto -c "$DEMO_DIR/mosquitto.conf" > "$DEMO_DIR/mosquitto.log" 2>&1 & pids+=($!)
  for _ in $(seq 50); do listening "$MQTT_PORT" && break; sleep 0.1; done
  listening "$MQTT_PORT" || { echo "mosquitto did not start (see $DEMO_DIR/mosquitto.log)"; exit 1; }
  echo "Started a loopback mosquitto on 127.0.0.1:$MQTT_PORT"
fi

# 2. Build once.
echo "Building healthagent (Release)…"
dotnet build src/HealthAgent -c Release -nologo -v quiet >/dev/null
AGENT=(dotnet src/HealthAgent/bin/Release/net10.0/healthagent.dll)

# 3. The simulated appliance, looping the demo scenario.
"${AGENT[@]}" simulate --scenario demo --loop --redfish-port "$REDFISH_PORT" --panel-link "$DEMO_DIR/panel" \
  > "$DEMO_DIR/simulator.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do listening "$REDFISH_PORT" && [ -e "$DEMO_DIR/panel" ] && break; sleep 0.1; done
listening "$REDFISH_PORT" || { echo "the simulator did not start:"; cat "$DEMO_DIR/simulator.log"; exit 1; }
echo "Simulator: Redfish on http://127.0.0.1:$REDFISH_PORT, front panel on $DEMO_DIR/panel (log: $DEMO_DIR/simulator.log)"

cat <<MSG

Watch it on MQTT in another terminal:
  mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -t 'healthagent/v1/demo/#' -v

MSG

# 4. The agent on its built-in defaults (agent.json), pointed at the simulator by environment overrides only.
#    Ctrl+C = clean stop (offline published, outbox flushed).
export HEALTHAGENT_AGENTID="demo"
export HEALTHAGENT_STATEDIRECTORY="$DEMO_DIR/state"
export HEALTHAGENT_PUBLISHERS__MQTT__PORT="$MQTT_PORT"
export HEALTHAGENT_PUBLISHERS__MQTT__WILLDELAYSECONDS=5
export HEALTHAGENT_SOURCES__REDFISH__ENABLED=true
export HEALTHAGENT_SOURCES__REDFISH__INTERVALSECONDS=5
export HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__NAME=bmc
export HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__URL="http://127.0.0.1:$REDFISH_PORT"
export HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__TIMEOUTSECONDS=3
export HEALTHAGENT_SOURCES__FRONTPANEL__ENABLED=true
export HEALTHAGENT_SOURCES__FRONTPANEL__DEVICE="$DEMO_DIR/panel"
export HEALTHAGENT_SOURCES__FRONTPANEL__HEARTBEATSECONDS=1
"${AGENT[@]}" run & agent=$!
pids+=("$agent")
wait "$agent"
