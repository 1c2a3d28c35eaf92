#!/usr/bin/env bash
# Build the container image without Docker and run it the way the Kubernetes manifest
# says, as root on a Debian host with debootstrap, buildah and systemd-container:
#
#   1. a local base image made with debootstrap (public registries may be out of reach);
#   2. the wheels built on the host, the image built with `buildah bud` from
#      deploy/docker/Dockerfile, offline;
#   3. `connector run` started in the image's root file system with systemd-nspawn: the
#      image's user, read-only root and /tmp on tmpfs when the manifest asks for them,
#      SQLite in a volume, secrets mounted as files, the host's network;
#   4. /readyz, one order relayed through the sandbox partners on the host, the user and
#      the read-only root checked on the running process;
#   5. SIGTERM, and exit status 0.
#
# Why nspawn runs the image: buildah's own `run` has no read-only root, and podman's
# runtime refuses this kind of host's cgroup set-up. nspawn runs the very file system
# buildah built, mounted with `buildah mount`.
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/check/common.sh

IMAGE=localhost/rxscale-empower-connector:check
BASE_IMAGE=localhost/connector-base:$CHECK_SUITE
PORT=${CHECK_IMAGE_PORT:-18080}
RUN=$CHECK_WORK/image
rm -rf "$RUN" && mkdir -p "$RUN/data" "$RUN/secrets"

cleanup() {
  [ -n "${NSPAWN_PID:-}" ] && kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  stop_sandbox
  if [ -n "${CONTAINER:-}" ]; then
    buildah umount "$CONTAINER" >/dev/null 2>&1 || true
    buildah rm "$CONTAINER" >/dev/null 2>&1 || true
  fi
  buildah rmi "$IMAGE" >/dev/null 2>&1 || true  # keep the local store from growing per run
  rm -f deploy/docker/wheels/*.whl
}
trap cleanup EXIT

base_rootfs
say "importing $BASE_ROOTFS as $BASE_IMAGE"
scratch=$(buildah from scratch)
cp -a "$BASE_ROOTFS/." "$(buildah mount "$scratch")/"
buildah umount "$scratch" >/dev/null
buildah commit --quiet --rm "$scratch" "$BASE_IMAGE" >/dev/null

say "wheels on the host, then buildah bud (offline) on $BASE_IMAGE"
host_wheels deploy/docker/wheels
buildah bud --quiet --isolation chroot --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  -f deploy/docker/Dockerfile -t "$IMAGE" . >"$CHECK_WORK/bud.log" 2>&1 ||
  { tail -n 30 "$CHECK_WORK/bud.log"; fail "buildah bud"; }
rm -f deploy/docker/wheels/*.whl
say "image size: $(buildah images --format '{{.Size}}' "$IMAGE") on a base of $(buildah images --format '{{.Size}}' "$BASE_IMAGE")"

# What the Kubernetes manifest asks of the container.
read -r RUN_AS READ_ONLY < <("$PYTHON" - <<'PY'
import yaml
deployment = yaml.safe_load(open("deploy/kubernetes/deployment.yaml"))
pod = deployment["spec"]["template"]["spec"]
[container] = [c for c in pod["containers"] if c["name"] == "connector"]
context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
print(context["runAsUser"], str(context.get("readOnlyRootFilesystem", False)).lower())
PY
)
IMAGE_USER=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")
[ "${IMAGE_USER%%:*}" = "$RUN_AS" ] || fail "the image runs as $IMAGE_USER, the manifest as $RUN_AS"

start_sandbox
wire_partners "http://127.0.0.1:$PORT" "$RUN/secrets"
chown "$IMAGE_USER" "$RUN/data"
chmod 0444 "$RUN/secrets"/*

CONTAINER=$(buildah from "$IMAGE")
ROOT=$(buildah mount "$CONTAINER")
env_args=()
while IFS= read -r line; do env_args+=("--setenv=$line"); done < <(
  buildah inspect --type image --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
read_only=()
[ "$READ_ONLY" = true ] && read_only=(--read-only)

say "connector run in the image: uid $RUN_AS, read-only root: $READ_ONLY"
# The image's user is taken by setpriv: nspawn's own --user wants a home directory to
# exist, and this image's user has none on purpose.
systemd-nspawn --quiet --register=no --keep-unit --machine=connector-image-check \
  --directory="$ROOT" "${read_only[@]}" --kill-signal=SIGTERM \
  --bind="$RUN/data:/var/lib/connector" --bind-ro="$RUN/secrets:/var/run/secrets/connector" \
  --tmpfs=/tmp "${env_args[@]}" \
  --setenv=CONNECTOR_HTTP__HOST=127.0.0.1 --setenv=CONNECTOR_HTTP__PORT="$PORT" \
  --setenv=CONNECTOR_SECRETS_DIR=/var/run/secrets/connector \
  --setenv=CONNECTOR_RXSCALE__BASE_URL="$RXSCALE_API" \
  --setenv=CONNECTOR_EMPOWER__BASE_URL="$SANDBOX_EMPOWER" \
  --setenv=CONNECTOR_RECONCILE__INTERVAL_SECONDS=0 \
  --chdir=/var/lib/connector \
  env -u NOTIFY_SOCKET setpriv --reuid="${IMAGE_USER%%:*}" --regid="${IMAGE_USER##*:}" \
  --clear-groups /opt/connector/bin/connector run >"$RUN/connector.log" 2>&1 &
NSPAWN_PID=$!

wait_for_http "http://127.0.0.1:$PORT/readyz" 30 ||
  { cat "$RUN/connector.log"; fail "/readyz never answered 200"; }
say "/readyz answers 200 from the host"

PID=$(pgrep -f -n '/opt/connector/bin/connector run' || true)
[ -n "$PID" ] || fail "no connector process found"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$PID/status")
[ "$uid" != 0 ] && [ "$uid" = "$RUN_AS" ] || fail "the connector runs as uid $uid"
root_options=$(awk '$5 == "/" {print $6}' "/proc/$PID/mountinfo" | tail -n 1)
if [ "$READ_ONLY" = true ]; then
  case ",$root_options," in *,ro,*) ;; *) fail "the root file system is mounted $root_options" ;; esac
fi
say "the connector runs as uid $uid; its root file system is mounted $root_options"

relay_one_order 60

say "SIGTERM"
kill -TERM "$NSPAWN_PID"
status=0
wait "$NSPAWN_PID" || status=$?
NSPAWN_PID=
grep -q '"event": "daemon_stopped"' "$RUN/connector.log" || { cat "$RUN/connector.log"; fail "no daemon_stopped"; }
[ "$status" = 0 ] || { tail -n 20 "$RUN/connector.log"; fail "exit status $status after SIGTERM"; }
say "stopped cleanly, exit status 0"
say "image check passed"
