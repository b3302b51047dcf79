#!/usr/bin/env bash
# make run: plant-sim serving the demo plant in accelerated time, plantd
# controlling it, and `plantctl watch` in the foreground. Ctrl-C stops all.
#   CONFIG (default deploy/examples/single-cabinet.json), SPEED (default 60),
#   LISTEN (default 127.0.0.1:50051), BIN (default build/bin)
set -euo pipefail
BIN=${BIN:-build/bin}
CONFIG=${CONFIG:-deploy/examples/single-cabinet.json}
SPEED=${SPEED:-60}
LISTEN=${LISTEN:-127.0.0.1:50051}
SIM_CONTROL=${SIM_CONTROL:-127.0.0.1:50061}
VAR=${VAR:-build/var}
mkdir -p "$VAR"

# Start the simulated day at 06:00 in the site's time zone.
tz=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["site"]["time_zone"])' "$CONFIG")
start_epoch=$(TZ="$tz" date -d 'today 06:00' +%s)
START=${START:-$(date -u -d "@$start_epoch" +%Y-%m-%dT%H:%M:%SZ)}

pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo
  echo "stopped plant-sim and plantd (logs in $VAR/)"
}
trap cleanup EXIT INT TERM

"$BIN/plant-sim" --config "$CONFIG" --speed "$SPEED" --start "$START" --control "$SIM_CONTROL" \
  >"$VAR/plant-sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "control on" "$VAR/plant-sim.log" 2>/dev/null && break; sleep 0.1; done
if ! grep -q "control on" "$VAR/plant-sim.log"; then
  echo "plant-sim did not start:"; cat "$VAR/plant-sim.log"; exit 1
fi

"$BIN/plantd" --config "$CONFIG" --data-dir "$VAR/data" --listen "$LISTEN" \
  --time-scale "$SPEED" --start "$START" --log-level warn >"$VAR/plantd.log" 2>&1 &
pids+=($!)
# plantctl on this machine uses plantd's local socket: no password (the
# socket's file permissions decide who may use it). Over $LISTEN every call
# needs a token: plantctl --target $LISTEN login USER.
SOCKET="unix:$(cd "$VAR" && pwd)/data/plantd.sock"
export PLANTD_TARGET="$SOCKET"
for _ in $(seq 100); do "$BIN/plantctl" --timeout 0.5 status >/dev/null 2>&1 && break; sleep 0.1; done

echo "plant-sim: $CONFIG at x$SPEED from $START (site time ${tz}); SimService on $SIM_CONTROL"
echo "plantd:    $LISTEN (token required) and $SOCKET (this machine)"
echo "           in another terminal: PLANTD_TARGET=$SOCKET $BIN/plantctl status | mode set tou | users add olga --role owner"
echo "Ctrl-C stops everything."
"$BIN/plantctl" status || true
"$BIN/plantctl" watch
