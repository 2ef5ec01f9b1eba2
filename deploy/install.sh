#!/usr/bin/env bash
# Installs the agent as a systemd service on Debian 12 (run from a checkout, as root; needs the .NET 10 SDK unless
# --from names a finished publish):
#   sudo deploy/install.sh                  # publish, install, enable and start (when systemd runs)
#   sudo deploy/install.sh --from DIR       # install an already published build from DIR
#
#   /opt/healthagent/           the published binary (+ README.md, the unit's Documentation=)
#   /usr/local/bin/healthagent  → /opt/healthagent/healthagent (on PATH)
#   /etc/healthagent/           agent.json (kept when present: yours) and rules/ (the LED tables, reloaded by SIGHUP)
#   /var/lib/healthagent/       state: state.db with the MQTT outbox (the unit's StateDirectory=, agent.json's stateDirectory)
#   /etc/systemd/system/healthagent.service
# Re-running it upgrades the binary, the unit and README; agent.json and rules/ stay as you edited them.
set -euo pipefail

# The publish profile of the shipped binary (src/HealthAgent/Properties/PublishProfiles/<name>.pubxml).
PROFILE="${HEALTHAGENT_PUBLISH_PROFILE:-linux-x64-aot}"
PREFIX=/opt/healthagent
CONFIG_DIR=/etc/healthagent
STATE_DIR=/var/lib/healthagent
BIN_LINK=/usr/local/bin/healthagent
UNIT=/etc/systemd/system/healthagent.service

cd "$(dirname "$0")/.."
from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="${2:?--from needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (--from DIR, --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo deploy/install.sh)" >&2; exit 1; }

# 1. The binary: a fresh publish (or the given one) replaces /opt/healthagent as a whole.
stage="$(mktemp -d /opt/.healthagent-new.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
if [ -z "$from" ]; then
  command -v dotnet >/dev/null || { echo "install.sh: the .NET 10 SDK is needed to publish (or pass --from DIR)" >&2; exit 1; }
  echo "Publishing ($PROFILE)…"
  dotnet publish src/HealthAgent -c Release -nologo -v quiet -p:PublishProfile="$PROFILE" -o "$stage"
else
  cp -a "$from/." "$stage/"
fi
[ -x "$stage/healthagent" ] || { echo "install.sh: no healthagent executable in the publish output" >&2; exit 1; }
install -m 0644 README.md "$stage/README.md"
chmod 0755 "$stage"
if [ -d "$PREFIX" ]; then rm -rf "$PREFIX.old"; mv "$PREFIX" "$PREFIX.old"; fi
mv "$stage" "$PREFIX"
rm -rf "$PREFIX.old"
trap - EXIT
ln -sfn "$PREFIX/healthagent" "$BIN_LINK"

# 2. Configuration: agent.json only when there is none (it may hold password hashes: 0640), rules likewise.
install -d -m 0755 "$CONFIG_DIR"
if [ ! -e "$CONFIG_DIR/agent.json" ]; then
  # the repository's agent.json, with the rules read from /etc/healthagent/rules (so SIGHUP reloads edits)
  sed "s|^\(  \"stateDirectory\": .*\)\$|\1\n  \"rulesDirectory\": \"$CONFIG_DIR/rules\",|" agent.json > "$CONFIG_DIR/agent.json.new"
  grep -q "\"rulesDirectory\": \"$CONFIG_DIR/rules\"" "$CONFIG_DIR/agent.json.new" \
    || { echo "install.sh: could not set rulesDirectory in agent.json" >&2; rm -f "$CONFIG_DIR/agent.json.new"; exit 1; }
  chmod 0640 "$CONFIG_DIR/agent.json.new"
  mv "$CONFIG_DIR/agent.json.new" "$CONFIG_DIR/agent.json"
  echo "Wrote $CONFIG_DIR/agent.json"
else
  echo "Kept $CONFIG_DIR/agent.json"
fi
install -m 0644 agent.schema.json "$CONFIG_DIR/agent.schema.json"   # agent.json's "$schema", for editors
if [ ! -e "$CONFIG_DIR/rules" ]; then cp -r rules "$CONFIG_DIR/rules"; echo "Wrote $CONFIG_DIR/rules/"; fi
install -d -m 0750 "$STATE_DIR"

# 3. Check what was installed before the service uses it: every configuration and rule error at once.
"$BIN_LINK" check --config "$CONFIG_DIR/agent.json"

# 4. The unit.
install -m 0644 deploy/healthagent.service "$UNIT"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  systemctl enable healthagent.service
  systemctl restart healthagent.service
  sleep 2
  systemctl --no-pager --lines=5 status healthagent.service || true
  echo "Installed. Logs: journalctl -u healthagent -f · reload rules and config: systemctl reload healthagent"
else
  echo "Installed $UNIT, but systemd is not running here (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo '?'));"
  echo "start the agent by hand: $BIN_LINK run --config $CONFIG_DIR/agent.json"
fi
