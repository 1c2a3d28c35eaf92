#!/usr/bin/env bash
# Run deploy/systemd/connector.service under a real systemd as PID 1, as root on a Debian
# host with debootstrap and systemd-container:
#
#   1. a Debian root file system with systemd, the wheel installed as docs/operations.md
#      tells an operator to (a virtualenv in /opt/connector, offline from host-built
#      wheels), the configuration file and the credentials in place, the unit installed
#      as shipped and enabled;
#   2. booted with systemd-nspawn, sharing the host's network;
#   3. checked: `active` through Type=notify; no watchdog restart over 35 s of idle; /readyz
#      from the host; one order relayed through the sandbox partners on the host; JSON
#      lines in `journalctl -u connector -o cat`; a kill -9 of the main process followed
#      by systemd's restart and no lost order; `systemctl stop` ending cleanly.
#
# Every hardening option of the unit stays in. The service's result is checked for
# systemd's "failed to set up" exit codes (namespaces, capabilities, seccomp, credentials),
# so an option that cannot work under nspawn would stop the check and be named here.
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/check/common.sh

ROOTFS=$CHECK_WORK/unit-root
PORT=8080  # as the unit ships
IDLE_SECONDS=${CHECK_IDLE_SECONDS:-35}

cleanup() {
  if [ -n "${NSPAWN_PID:-}" ]; then
    kill -TERM "$NSPAWN_PID" 2>/dev/null || true  # SIGRTMIN+3 inside: a clean power-off
    for _ in $(seq 1 20); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  fi
  stop_sandbox
}
trap cleanup EXIT

in_chroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root chroot "$ROOTFS" "$@"; }

base_rootfs
say "root file system with systemd in $ROOTFS"
rm -rf "$ROOTFS"
cp -a "$BASE_ROOTFS" "$ROOTFS"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
in_chroot sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends systemd systemd-sysv >/dev/null 2>&1' ||
  fail "installing systemd into the root file system"

say "install as docs/operations.md says: a virtualenv, the wheel, config, credentials, unit"
mkdir -p "$ROOTFS/root/wheels"
host_wheels "$ROOTFS/root/wheels"
in_chroot python3 -m venv /opt/connector
in_chroot /opt/connector/bin/pip install --quiet --no-index --find-links /root/wheels \
  rxscale-empower-connector
install -d -m 0755 "$ROOTFS/etc/connector"
cp config/connector.example.toml "$ROOTFS/etc/connector/connector.toml"
# "remove the api_key/webhook lines", and point at the sandbox partners.
sed -i -e '/^api_key = /d' -e '/^webhook_secrets = /d' -e '/^webhook_keys = /d' \
  -e "s|^base_url = \"https://api.rxscale.com.*\"|base_url = \"$RXSCALE_API\"|" \
  -e "s|^base_url = \"https://api.empowerpharmacy.com\"|base_url = \"$SANDBOX_EMPOWER\"|" \
  "$ROOTFS/etc/connector/connector.toml"
install -d -m 0700 "$ROOTFS/etc/connector/credentials"

start_sandbox
wire_partners "http://127.0.0.1:$PORT" "$ROOTFS/etc/connector/credentials"
chmod 0600 "$ROOTFS/etc/connector/credentials"/*
cp deploy/systemd/connector.service "$ROOTFS/etc/systemd/system/"
systemctl --root="$ROOTFS" enable connector.service >/dev/null 2>&1 ||
  fail "systemctl enable"

say "boot with systemd-nspawn"
systemd-nspawn --quiet --register=no --keep-unit --machine=connector-unit-check \
  --boot --directory="$ROOTFS" >"$CHECK_WORK/boot.log" 2>&1 &
NSPAWN_PID=$!

# PID 1 of the container, to run commands in its namespaces.
leader() { pgrep -P "$NSPAWN_PID" | head -n 1; }
inside() { nsenter --target "$(leader)" --mount --uts --ipc --pid -- "$@"; }
unit_property() { inside systemctl show --value --property="$1" connector.service; }

deadline=$((SECONDS + 60))
until [ "$(inside systemctl is-active connector.service 2>/dev/null || true)" = active ]; do
  if [ $SECONDS -ge $deadline ]; then
    inside systemctl status --no-pager connector.service || true
    inside journalctl --no-pager -u connector.service | tail -n 30 || true
    fail "connector.service never became active"
  fi
  case "$(unit_property ExecMainStatus 2>/dev/null || echo 0)" in
    # systemd's own exit codes for a sandbox it could not set up (see systemd.exec(5)).
    2[0-4][0-9]) inside systemctl status --no-pager connector.service || true
                 fail "systemd could not set up the service: a hardening option failed" ;;
  esac
  sleep 0.5
done
say "active (Type=notify: READY=1 came after migrations and the listener)"
main_pid=$(unit_property MainPID)

# The hardening, seen on the running process from the host.
host_pid_of() {  # the host PID of the container's PID $1
  local pid
  for pid in $(pgrep -f '/opt/connector/bin/connector run'); do
    [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")" = "$1" ] && { echo "$pid"; return; }
  done
  return 1
}
pid=$(host_pid_of "$main_pid") || fail "the main process (PID $main_pid inside) not found"
status_of() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
[ "$(status_of Uid)" != 0 ] || fail "runs as root"
[ "$(status_of NoNewPrivs)" = 1 ] || fail "NoNewPrivileges is not in force"
[ "$(status_of Seccomp)" = 2 ] || fail "no system-call filter in force"
[ "$(status_of CapEff)" = 0000000000000000 ] || fail "has capabilities $(status_of CapEff)"
root_options=$(awk '$5 == "/" {print $6}' "/proc/$pid/mountinfo" | tail -n 1)
case ",$root_options," in *,ro,*) ;; *) fail "ProtectSystem=strict: / is $root_options" ;; esac
say "in force: uid $(status_of Uid) (DynamicUser), NoNewPrivs, seccomp filter, no capabilities, / read-only"
ignored=$(inside journalctl --no-pager -b -o cat | grep -i 'connector.service' |
  grep -iE 'ignoring|not supported|unable to|failed to set up' || true)
[ -z "$ignored" ] || { printf '%s\n' "$ignored"; fail "systemd ignored some of the unit's options"; }
say "the boot journal names no option of the unit as ignored or unsupported"

say "idle for $IDLE_SECONDS s: the watchdog (WatchdogSec=30) must not fire"
sleep "$IDLE_SECONDS"
[ "$(unit_property NRestarts)" = 0 ] && [ "$(unit_property MainPID)" = "$main_pid" ] ||
  fail "the service restarted while idle"
! inside journalctl --no-pager -u connector.service | grep -qi watchdog ||
  fail "the journal mentions the watchdog"
say "no restart, no watchdog timeout"

wait_for_http "http://127.0.0.1:$PORT/readyz" 5 || fail "/readyz from the host"
say "/readyz answers 200 from the host"

relay_one_order 60

lines=$(inside journalctl --no-pager -u connector.service -o cat | grep -c '^{' || true)
inside journalctl --no-pager -u connector.service -o cat | grep '^{' |
  "$PYTHON" -c 'import json,sys; [json.loads(l) for l in sys.stdin]' ||
  fail "a journal line that is not JSON"
[ "$lines" -gt 5 ] || fail "only $lines JSON lines in the journal"
say "journalctl -u connector -o cat: $lines JSON lines"

say "kill -9 of the main process, with an order in flight"
uid=$(curl -fsS -X POST -H 'Content-Type: application/json' -d '{"count": 1}' \
  "$SANDBOX_RXSCALE/_sandbox/orders" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["uids"][0])')
inner=$(unit_property MainPID)
kill -KILL "$(host_pid_of "$inner")" || fail "the main process (PID $inner inside) not found"
deadline=$((SECONDS + 30))
until [ "$(unit_property NRestarts)" = 1 ] &&
  [ "$(inside systemctl is-active connector.service || true)" = active ]; do
  [ $SECONDS -lt $deadline ] || fail "systemd did not restart the service"
  sleep 0.5
done
say "systemd restarted it (NRestarts=1)"
# The order pushed before the kill must complete, and be placed once.
deadline=$((SECONDS + 90))
until curl -fsS "$SANDBOX_RXSCALE/_sandbox/orders/$uid" | grep -q '"status": "completed"'; do
  [ $SECONDS -lt $deadline ] || fail "order $uid lost across the kill"
  sleep 0.5
done
placed_once "$uid"
say "order $uid completed after the restart, placed once"

say "systemctl stop"
inside systemctl stop connector.service
[ "$(unit_property Result)" = success ] || fail "stop result: $(unit_property Result)"
inside journalctl --no-pager -u connector.service -o cat | tail -n 5 | grep -q daemon_stopped ||
  fail "no daemon_stopped at the end of the journal"
say "stopped cleanly (Result=success)"
say "unit check passed"
