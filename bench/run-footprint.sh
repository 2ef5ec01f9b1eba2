#!/usr/bin/env bash
# Steady RSS and CPU of `healthagent run` on the simulated appliance (issue 6): mosquitto on a free port, the
# simulator (Redfish + front panel + sysfs host tree, looping demo scenario), the agent with every source at 1 s.
# Samples /proc every 5 s after the warm-up; prints RSS avg/max (MB) and CPU % of one core over the window.
#   bench/run-footprint.sh [WARMUP_S] [WINDOW_S]
# Environment: AGENT (command for the agent, default the Release build via dotnet), SIM (same for the simulator),
# plus any DOTNET_* / HEALTHAGENT_* variables to compare settings; MAPS, PERF, OVERRIDES and LOG are described below.
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP=${1:-60}
WINDOW=${2:-300}
DLL=src/HealthAgent/bin/Release/net10.0/healthagent.dll
read -r -a AGENT <<< "${AGENT:-dotnet $DLL}"
read -r -a SIM <<< "${SIM:-dotnet $DLL}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT_PORT=$(free_port); REDFISH_PORT=$(free_port)
DIR=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$DIR"' EXIT
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" > "$DIR/mosquitto.conf"
mosquitto -c "$DIR/mosquitto.conf" >/dev/null 2>&1 & pids+=($!)
"${SIM[@]}" simulate --scenario demo --loop --redfish-port "$REDFISH_PORT" --panel-link "$DIR/panel" \
  --host-root "$DIR/host" > "$DIR/sim.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -e "$DIR/panel" ] && [ -d "$DIR/host" ] && break; sleep 0.1; done
export HEALTHAGENT_AGENTID=footprint HEALTHAGENT_STATEDIRECTORY="$DIR/state" HEALTHAGENT_LOGLEVEL=Warning
export HEALTHAGENT_PUBLISHERS__MQTT__PORT=$MQTT_PORT
export HEALTHAGENT_SOURCES__REDFISH__ENABLED=true HEALTHAGENT_SOURCES__REDFISH__INTERVALSECONDS=1
export HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__NAME=bmc HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__URL="http://127.0.0.1:$REDFISH_PORT"
export HEALTHAGENT_SOURCES__FRONTPANEL__ENABLED=true HEALTHAGENT_SOURCES__FRONTPANEL__DEVICE="$DIR/panel"
for s in HWMON NIC MDRAID POWERSUPPLY; do
  export "HEALTHAGENT_SOURCES__${s}__INTERVALSECONDS=1" "HEALTHAGENT_SOURCES__${s}__HOSTROOT=$DIR/host"
done
export HEALTHAGENT_SOURCES__NIC__NETLINK=false HEALTHAGENT_SOURCES__SMART__ENABLED=false
# OVERRIDES="NAME=value …": applied last (e.g. HEALTHAGENT_SOURCES__REDFISH__ENABLED=false to split the cost by source)
for kv in ${OVERRIDES:-}; do export "${kv?}"; done
"${AGENT[@]}" run > "$DIR/agent.log" 2>&1 & AGENT_PID=$!; pids+=($AGENT_PID)
# the agent's own process (dotnet exec or the apphost), not a wrapper
sleep "$WARMUP"
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$AGENT_PID/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status"; }
# PERF=FILE: also record a CPU profile of the window (perf; managed frames via DOTNET_PerfMapEnabled=1 on the agent)
[ -n "${PERF:-}" ] && { perf record -F 999 -g -p "$AGENT_PID" -o "$PERF" -- sleep "$WINDOW" >/dev/null 2>&1 & }
# Redfish requests the simulator served (GET /sim/state counts them; empty for a simulator without the counter)
sim_requests() { python3 -c 'import json,sys,urllib.request; s=json.load(urllib.request.urlopen(sys.argv[1])); print(s.get("redfishRequests") or "", s.get("redfishExpandedRequests") or "")' "http://127.0.0.1:$REDFISH_PORT/sim/state" 2>/dev/null || true; }
read -r q0 x0 <<< "$(sim_requests)"
# thread switches (voluntary + involuntary) of the threads alive: at 1 s intervals CPU is mostly wake-ups
switches() { cat /proc/"$AGENT_PID"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
c0=$(cpu); s0=$(switches); t0=$(date +%s.%N); sum=0; n=0; max=0
end=$(( $(date +%s) + WINDOW ))
while [ "$(date +%s)" -lt "$end" ]; do
  r=$(rss); sum=$((sum + r)); n=$((n + 1)); [ "$r" -gt "$max" ] && max=$r
  sleep 5
done
c1=$(cpu); s1=$(switches); t1=$(date +%s.%N)
read -r q1 x1 <<< "$(sim_requests)"
smaps=$(awk '/^(Rss|Anonymous|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty):/ {a[$1]+=$2} END {printf "anon %d MB, file-backed private clean %d MB, shared %d MB", a["Anonymous:"]/1024, a["Private_Clean:"]/1024, (a["Shared_Clean:"]+a["Shared_Dirty:"])/1024}' "/proc/$AGENT_PID/smaps")
threads=$(ls "/proc/$AGENT_PID/task" | wc -l)
# MAPS=1: the largest mappings by resident size (anonymous ones summed as "[anon]")
[ -n "${MAPS:-}" ] && awk '/^[0-9a-f]+-/ {name = (NF >= 6) ? $6 : "[anon]"} /^Rss:/ {r[name] += $2} END {for (n in r) if (r[n] >= 1024) printf "%7d kB %s\n", r[n], n}' "/proc/$AGENT_PID/smaps" | sort -rn | head -25
events=$(grep -c "" "$DIR/agent.log" || true)
python3 - "$sum" "$n" "$max" "$c0" "$c1" "$t0" "$t1" "$ticks" <<PY
import sys
s,n,m,c0,c1,t0,t1,tk=map(float,sys.argv[1:])
print(f"RSS avg {s/n/1024:.1f} MB, max {m/1024:.1f} MB; CPU {(c1-c0)/tk/(t1-t0)*100:.2f} % of a core over {t1-t0:.0f} s after {int($WARMUP)} s warm-up")
PY
echo "$smaps; $threads threads; $(( (s1 - s0) / WINDOW )) thread switches/s; agent log lines: $events"
[ -n "${q0:-}" ] && [ -n "${q1:-}" ] && python3 -c 'import sys; q0,q1,x0,x1,t0,t1=map(float,sys.argv[1:]); print(f"Redfish requests to the simulator: {(q1-q0)/(t1-t0):.1f}/s ({(x1-x0)/(t1-t0):.1f}/s with $expand)")' "$q0" "$q1" "${x0:-0}" "${x1:-0}" "$t0" "$t1"
grep -m3 -iE "fail|error" "$DIR/agent.log" || true
# LOG=FILE: keep the agent's log (e.g. with OVERRIDES=HEALTHAGENT_LOGLEVEL=Debug)
[ -n "${LOG:-}" ] && cp "$DIR/agent.log" "$LOG"
