# shellcheck shell=bash
# Shared by check-image.sh and check-unit.sh: a Debian root file system made once per run,
# the sandbox partners on the host, and one order relayed through them.
# Sourced, not run. Needs root, debootstrap, curl and the project's virtualenv (.venv).

CHECK_SUITE=${CHECK_SUITE:-bookworm}
CHECK_MIRROR=${CHECK_MIRROR:-http://deb.debian.org/debian}
CHECK_WORK=${CHECK_WORK:-/var/tmp/connector-check}
CONNECTOR_CLI=${CONNECTOR_CLI:-$PWD/.venv/bin/connector}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
SANDBOX_RXSCALE_PORT=${SANDBOX_RXSCALE_PORT:-18081}
SANDBOX_EMPOWER_PORT=${SANDBOX_EMPOWER_PORT:-18082}
SANDBOX_RXSCALE=http://127.0.0.1:$SANDBOX_RXSCALE_PORT
SANDBOX_EMPOWER=http://127.0.0.1:$SANDBOX_EMPOWER_PORT
RXSCALE_API=$SANDBOX_RXSCALE/v1/external_pharmacy_api
SANDBOX_RXSCALE_KEY=rxs_sandbox_key
SANDBOX_EMPOWER_KEY=emp_sandbox_key

say() { printf '[check] %s\n' "$*"; }
fail() { printf '[check] FAILED: %s\n' "$*" >&2; exit 1; }

# A minimal Debian with Python, made once and reused by both checks of a run.
base_rootfs() {
  local rootfs=$CHECK_WORK/debian-$CHECK_SUITE
  if [ ! -x "$rootfs/usr/bin/python3" ]; then
    say "debootstrap $CHECK_SUITE (minbase, python3) into $rootfs"
    rm -rf "$rootfs"
    mkdir -p "$CHECK_WORK"
    debootstrap --variant=minbase --include=python3,python3-venv \
      "$CHECK_SUITE" "$rootfs" "$CHECK_MIRROR" >"$CHECK_WORK/debootstrap.log" 2>&1 ||
      { tail -n 20 "$CHECK_WORK/debootstrap.log"; fail "debootstrap"; }
  fi
  # shellcheck disable=SC2034  # read by the scripts that source this file
  BASE_ROOTFS=$rootfs
}

# The wheel of this checkout and every dependency, built on the host.
host_wheels() {
  local into=$1
  rm -f "$into"/*.whl
  "$PYTHON" -m pip wheel --quiet --wheel-dir "$into" . 2>"$CHECK_WORK/wheel.log" ||
    { cat "$CHECK_WORK/wheel.log"; fail "pip wheel"; }
}

wait_for_http() {  # URL SECONDS
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

start_sandbox() {
  "$CONNECTOR_CLI" sandbox --rxscale-port "$SANDBOX_RXSCALE_PORT" \
    --empower-port "$SANDBOX_EMPOWER_PORT" >"$CHECK_WORK/sandbox.log" 2>&1 &
  SANDBOX_PID=$!
  wait_for_http "$SANDBOX_RXSCALE/_sandbox/orders" 15 &&
    wait_for_http "$SANDBOX_EMPOWER/_sandbox/orders" 5 ||
    { cat "$CHECK_WORK/sandbox.log"; fail "the sandbox did not start"; }
}

stop_sandbox() {
  if [ -n "${SANDBOX_PID:-}" ]; then
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
  fi
}

# Subscribe the connector at the sandbox RxScale as an operator does, and point the
# sandbox Empower at it. Writes the four secrets, one file each, into DIR.
wire_partners() {  # CONNECTOR_URL DIR
  local url=$1 dir=$2 key
  mkdir -p "$dir"
  CONNECTOR_RXSCALE__API_KEY=$SANDBOX_RXSCALE_KEY CONNECTOR_RXSCALE__BASE_URL=$RXSCALE_API \
    "$CONNECTOR_CLI" webhooks register --public-url "$url" --json >"$CHECK_WORK/subscriptions.json" ||
    fail "connector webhooks register"
  "$PYTHON" -c 'import json,sys; print("\n".join(json.loads(l)["signing_secret"] for l in sys.stdin if l.strip()))' \
    <"$CHECK_WORK/subscriptions.json" >"$dir/rxscale.webhook_secrets"
  key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s' "$key" >"$dir/empower.webhook_keys"
  printf '%s' "$SANDBOX_RXSCALE_KEY" >"$dir/rxscale.api_key"
  printf '%s' "$SANDBOX_EMPOWER_KEY" >"$dir/empower.api_key"
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"url\": \"$url/webhooks/empower\", \"key\": \"$key\"}" "$SANDBOX_EMPOWER/_sandbox/webhook" ||
    fail "pointing the sandbox Empower at $url"
}

# Place one order at the sandbox RxScale and wait until it is completed there with
# tracking, having been placed exactly once at Empower.
relay_one_order() {  # SECONDS
  local uid deadline=$((SECONDS + $1)) status
  uid=$(curl -fsS -X POST -H 'Content-Type: application/json' -d '{"count": 1}' \
    "$SANDBOX_RXSCALE/_sandbox/orders" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["uids"][0])')
  while :; do
    status=$(curl -fsS "$SANDBOX_RXSCALE/_sandbox/orders/$uid" |
      "$PYTHON" -c 'import json,sys; o=json.load(sys.stdin); c=o["completion"] or {}; print(o["status"], c.get("tracking_number") or "-")')
    case $status in completed\ [0-9]*) break ;; esac
    [ $SECONDS -lt $deadline ] || fail "order $uid not completed in time (RxScale shows: $status)"
    sleep 0.5
  done
  placed_once "$uid"
  say "order $uid relayed: RxScale shows ${status% *} with tracking ${status#* }, placed once"
}

# The sandbox Empower holds exactly one order for this RxScale order.
placed_once() {  # UID
  local placed
  placed=$(curl -fsS "$SANDBOX_EMPOWER/_sandbox/orders" |
    "$PYTHON" -c "import json,sys; print(sum(o['external_order_id'] == '$1' for o in json.load(sys.stdin)))")
  [ "$placed" = 1 ] || fail "order $1 placed $placed times at Empower"
}
