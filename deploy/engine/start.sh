#!/usr/bin/env bash
# A real Docker-API engine for the executor suite on a Debian 12 host (run as root):
# rootful Podman serving the Docker Engine API on a unix socket, plus the sandbox image
# built from deploy/sandbox/Dockerfile on a local debootstrap base (no registry needed).
# Idempotent and cached between runs on one machine: packages, the base image and an image
# whose tag is the digest of its Dockerfile and inputs are reused when present.
# Prints the environment for the caller to eval (logs go to stderr):
#   eval "$(bash deploy/engine/start.sh)"
# SANDBOX_LANGUAGES picks the toolchains (default: the lean python+node image of CI).
set -euo pipefail
cd "$(dirname "$0")/../.."

ENGINE_DIR=/run/arena-engine
SOCKET="$ENGINE_DIR/podman.sock"
BASE_IMAGE=localhost/arena-base:bookworm
SECCOMP_DIR="${EXECUTOR_DOCKER_SECCOMP_DIR:-/etc/arena-engine}"
LANGUAGES="${SANDBOX_LANGUAGES:-python javascript typescript bash}"
export CONTAINERS_CONF="$PWD/deploy/engine/containers.conf"
log() { echo "== engine: $*" >&2; }

install_packages() {
  local missing=()
  for pkg in podman runc debootstrap fuse-overlayfs uidmap catatonit slirp4netns docker-compose; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ping_engine() {
  curl -sf --max-time 2 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1
}

start_service() {
  ping_engine && return
  log "starting the Docker API service on $SOCKET"
  mkdir -p "$ENGINE_DIR"
  rm -f "$SOCKET"
  # From /: the service outlives this checkout, and a deleted working directory breaks
  # every container it starts later (conmon inherits it).
  (cd / && exec setsid nohup podman system service --time=0 "unix://$SOCKET") \
    </dev/null >"$ENGINE_DIR/service.log" 2>&1 &
  for _ in $(seq 100); do ping_engine && return; sleep 0.1; done
  cat "$ENGINE_DIR/service.log" >&2
  return 1
}

debian_mirror() {
  local uri
  uri=$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n1)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
  podman image exists "$BASE_IMAGE" && return
  local rootfs
  rootfs=$(mktemp -d /var/tmp/arena-base.XXXXXX)
  log "debootstrap minbase (about a minute)"
  debootstrap --variant=minbase --include=python3 bookworm "$rootfs" "$(debian_mirror)" >/dev/null
  tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

image_digest() {
  # Everything the Dockerfile copies, the Dockerfile itself and the build arguments.
  { cat deploy/sandbox/Dockerfile deploy/sandbox/arena-launch executors/runtime/requirements.txt \
        executors/runtime/node-packages.json executors/runtime/site/sitecustomize.py
    echo "$BASE_IMAGE $LANGUAGES"; } | sha256sum | cut -c1-16
}

build_sandbox() {
  local image="localhost/arena-sandbox:$1"
  if ! podman image exists "$image"; then
    log "building $image for: $LANGUAGES (minutes on a fresh machine)"
    podman build --network host -q \
      -v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro \
      --build-arg "BASE=$BASE_IMAGE" --build-arg "LANGUAGES=$LANGUAGES" \
      -f deploy/sandbox/Dockerfile -t "$image" . >&2
  fi
  echo "$image"
}

install_seccomp_profile() {
  # Podman's Docker API reads a container's seccomp profile from a path on this host; the
  # backend names it by the digest of the one policy (executors/seccomp.py).
  local path
  path=$(python3 -m executors seccomp-profile --install "$SECCOMP_DIR")
  log "seccomp profile: $path"
}

install_packages
start_service
install_seccomp_profile
build_base
IMAGE=$(build_sandbox "$(image_digest)")
echo "export DOCKER_HOST=unix://$SOCKET EXECUTOR_DOCKER_IMAGE=$IMAGE CONTAINERS_CONF=$CONTAINERS_CONF EXECUTOR_DOCKER_SECCOMP_DIR=$SECCOMP_DIR"
