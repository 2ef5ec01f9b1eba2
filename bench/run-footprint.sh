#!/usr/bin/env bash
# Steady RSS and CPU of `healthagent run`, beside node_exporter measured in the same window (issue 14).
#   bench/run-footprint.sh [WARMUP_S] [WINDOW_S]          (defaults 60 and 300)
# Two runs, one after the other, each on a fresh mosquitto (free loopback port) with the MQTT publisher on:
#   shipped  the shipped intervals (the embedded agent.json), this machine's local sources (hwmon, nic with
#            rtnetlink, smart, mdraid, powersupply); no BMC, no front panel
#   all-1s   every source at 1 s on the simulated appliance (Redfish + front panel + sysfs host tree, looping demo
#            scenario; `healthagent simulate`), netlink off (the host tree is not the real host)
# In both, Debian's prometheus-node-exporter runs on a loopback port with its default collectors, scraped every 10 s
# by a curl loop (as Prometheus would), and is sampled the same way. Also measured: how long after the agent's start
# its retained `online` reaches an MQTT subscriber. Samples /proc every 5 s after the warm-up; prints RSS avg/max (MB)
# and CPU % of one core over the window for both processes.
# Environment: AGENT (command for the agent: default the Native AOT publish at artifacts/publish/healthagent/healthagent
# when it exists, else the Release build via dotnet), SIM (same for the simulator; default: the agent's command, run
# from a copy of its folder when it is an executable, see below), RUNS ("shipped all-1s"), NODE_EXPORTER (its binary),
# plus any DOTNET_* / HEALTHAGENT_* variables to compare settings (e.g. DOTNET_GCGen0MaxBudget=200000 against the
# 1 MB compiled into the binary); MAPS, PERF, OVERRIDES and LOG are described below.
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP=${1:-60}
WINDOW=${2:-300}
DLL=src/HealthAgent/bin/Release/net10.0/healthagent.dll
AOT=artifacts/publish/healthagent/healthagent
default_agent="dotnet $DLL"; [ -x "$AOT" ] && default_agent="$AOT"
read -r -a AGENT <<< "${AGENT:-$default_agent}"
sim_given=${SIM:+yes}
read -r -a SIM <<< "${SIM:-${AGENT[*]}}"
# The simulator stands in for the BMC and the front panel, which are hardware on an appliance. Run from the agent's
# own file it would share the executable's pages with the agent, and the kernel leaves pages two processes map in
# both (the agent pages out its start-up code, Cli/StartMemory.cs): its copy is a file of its own.
sim_copy=""
if [ -z "$sim_given" ] && [ "${#AGENT[@]}" -eq 1 ] && [ -x "${AGENT[0]}" ]; then
  sim_copy=$(mktemp -d); cp -r "$(dirname "${AGENT[0]}")/." "$sim_copy/"; SIM=("$sim_copy/$(basename "${AGENT[0]}")")
fi
NODE_EXPORTER=${NODE_EXPORTER:-prometheus-node-exporter}
command -v "$NODE_EXPORTER" >/dev/null || { echo "needs $NODE_EXPORTER (apt-get install prometheus-node-exporter)"; exit 1; }
# the systemd unit's runtime settings (deploy/healthagent.service; the GC settings are compiled into the binary)
export MALLOC_ARENA_MAX=2
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# thread switches (voluntary + involuntary) of the threads alive: at 1 s intervals CPU is mostly wake-ups
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }

pids=(); dir=""
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "$dir" ] && rm -rf "$dir"; pids=(); dir=""; }
trap 'cleanup; [ -n "$sim_copy" ] && rm -rf "$sim_copy"' EXIT

run_one() {
  local mode=$1 ne_port mqtt_port redfish_port
  dir=$(mktemp -d)
  mqtt_port=$(free_port); redfish_port=$(free_port); ne_port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" > "$dir/mosquitto.conf"
  mosquitto -c "$dir/mosquitto.conf" >/dev/null 2>&1 & pids+=($!)
  "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$ne_port" > "$dir/node_exporter.log" 2>&1 & local ne_pid=$!; pids+=($ne_pid)
  ( while sleep 10; do curl -s -o /dev/null "http://127.0.0.1:$ne_port/metrics"; done ) & pids+=($!)
  # the broker listening before the status subscriber starts (on a busy machine 0.5 s was not always enough, and a
  # subscriber refused at connect left `online` unseen)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break; sleep 0.1; done

  local env=(HEALTHAGENT_AGENTID=footprint "HEALTHAGENT_STATEDIRECTORY=$dir/state" HEALTHAGENT_LOGLEVEL=Warning
             "HEALTHAGENT_PUBLISHERS__MQTT__PORT=$mqtt_port")
  if [ "$mode" = all-1s ]; then
    "${SIM[@]}" simulate --scenario demo --loop --redfish-port "$redfish_port" --panel-link "$dir/panel" \
      --host-root "$dir/host" > "$dir/sim.log" 2>&1 & pids+=($!)
    for _ in $(seq 100); do [ -e "$dir/panel" ] && [ -d "$dir/host" ] && break; sleep 0.1; done
    env+=(HEALTHAGENT_SOURCES__REDFISH__ENABLED=true HEALTHAGENT_SOURCES__REDFISH__INTERVALSECONDS=1
          HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__NAME=bmc "HEALTHAGENT_SOURCES__REDFISH__ENDPOINTS__0__URL=http://127.0.0.1:$redfish_port"
          HEALTHAGENT_SOURCES__FRONTPANEL__ENABLED=true "HEALTHAGENT_SOURCES__FRONTPANEL__DEVICE=$dir/panel"
          HEALTHAGENT_SOURCES__NIC__NETLINK=false HEALTHAGENT_SOURCES__SMART__ENABLED=false)
    for s in HWMON NIC MDRAID POWERSUPPLY; do
      env+=("HEALTHAGENT_SOURCES__${s}__INTERVALSECONDS=1" "HEALTHAGENT_SOURCES__${s}__HOSTROOT=$dir/host")
    done
  fi
  # OVERRIDES="NAME=value …": applied last (e.g. HEALTHAGENT_SOURCES__REDFISH__ENABLED=false to split the cost by source)
  for kv in ${OVERRIDES:-}; do env+=("$kv"); done

  # `online` after start: a subscriber waits on the status topic before the agent starts (%U: receive time, ns)
  mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t "healthagent/v1/footprint/status" -F '%U %p' > "$dir/status.log" 2>/dev/null & pids+=($!)
  sleep 0.3
  local t_start; t_start=$(date +%s.%N)
  env "${env[@]}" "${AGENT[@]}" run > "$dir/agent.log" 2>&1 & local agent_pid=$!; pids+=($agent_pid)
  sleep "$WARMUP"
  local online; online=$(awk -v t0="$t_start" '$2 == "online" {printf "%.0f", ($1 - t0) * 1000; exit}' "$dir/status.log")

  # PERF=FILE: also record a CPU profile of the window (perf; for the JIT build add DOTNET_PerfMapEnabled=1)
  [ -n "${PERF:-}" ] && { perf record -F 999 -g -p "$agent_pid" -o "$PERF.$mode" -- sleep "$WINDOW" >/dev/null 2>&1 & }
  local a_c0 n_c0 s0 t0 a_sum=0 a_max=0 n_sum=0 n_max=0 n=0 r
  a_c0=$(cpu "$agent_pid"); n_c0=$(cpu "$ne_pid"); s0=$(switches "$agent_pid"); t0=$(date +%s.%N)
  local end=$(( $(date +%s) + WINDOW ))
  while [ "$(date +%s)" -lt "$end" ]; do
    r=$(rss "$agent_pid"); a_sum=$((a_sum + r)); [ "$r" -gt "$a_max" ] && a_max=$r
    r=$(rss "$ne_pid"); n_sum=$((n_sum + r)); [ "$r" -gt "$n_max" ] && n_max=$r
    n=$((n + 1)); sleep 5
  done
  local a_c1 n_c1 s1 t1
  a_c1=$(cpu "$agent_pid"); n_c1=$(cpu "$ne_pid"); s1=$(switches "$agent_pid"); t1=$(date +%s.%N)
  local smaps threads
  smaps=$(awk '/^(Rss|Anonymous|Shared_Clean|Shared_Dirty|Private_Clean|Private_Dirty):/ {a[$1]+=$2} END {printf "anon %d MB, file-backed private clean %d MB, shared %d MB", a["Anonymous:"]/1024, a["Private_Clean:"]/1024, (a["Shared_Clean:"]+a["Shared_Dirty:"])/1024}' "/proc/$agent_pid/smaps")
  threads=$(ls "/proc/$agent_pid/task" | wc -l)
  echo "== $mode (agent: ${AGENT[*]}; $(env | grep -E '^(DOTNET_|MALLOC_)' | sort | tr '\n' ' '))"
  python3 - "$n" "$a_sum" "$a_max" "$a_c0" "$a_c1" "$n_sum" "$n_max" "$n_c0" "$n_c1" "$t0" "$t1" "$ticks" "$WARMUP" <<'PY'
import sys
n,asum,amax,ac0,ac1,nsum,nmax,nc0,nc1,t0,t1,tk,warm=map(float,sys.argv[1:])
w=t1-t0
print(f"healthagent    RSS avg {asum/n/1024:.1f} MB, max {amax/1024:.1f} MB; CPU {(ac1-ac0)/tk/w*100:.3f} % of a core")
print(f"node_exporter  RSS avg {nsum/n/1024:.1f} MB, max {nmax/1024:.1f} MB; CPU {(nc1-nc0)/tk/w*100:.3f} % of a core (scraped every 10 s)")
print(f"window {w:.0f} s after {int(warm)} s warm-up")
PY
  echo "agent: $smaps; $threads threads; $(( (s1 - s0) / WINDOW )) thread switches/s; MQTT online ${online:-not seen} ms after start"
  # MAPS=1: the largest mappings by resident size (anonymous ones summed as "[anon]")
  [ -n "${MAPS:-}" ] && awk '/^[0-9a-f]+-/ {name = (NF >= 6) ? $6 : "[anon]"} /^Rss:/ {r[name] += $2} END {for (n in r) if (r[n] >= 1024) printf "%7d kB %s\n", r[n], n}' "/proc/$agent_pid/smaps" | sort -rn | head -25
  grep -m3 -iE "fail|error" "$dir/agent.log" || true
  # LOG=PREFIX: keep the agent's log (e.g. with OVERRIDES=HEALTHAGENT_LOGLEVEL=Debug)
  [ -n "${LOG:-}" ] && cp "$dir/agent.log" "$LOG.$mode.log"
  cleanup
}

for mode in ${RUNS:-shipped all-1s}; do run_one "$mode"; done
