#!/usr/bin/env bash
# Build the image (Dockerfile) without a registry or a Docker engine, then run its entry points.
#
#   1. base: `debootstrap --variant=minbase bookworm` imported into podman as $BASE_TAG
#      (skipped when that tag exists; the root filesystem is cached in $CACHE_DIR);
#   2. wheels/: the CPU torch wheel from pip's find-links, this checkout's `pip freeze` as constraints,
#      the host's CA bundle (a TLS-intercepting proxy); .gitignored, and only in the discarded build stage;
#   3. `podman build --isolation=chroot --pull=never` (`podman run` cannot work here: crun cannot set rlimits);
#   4. the image's file system (`podman create` + `podman mount`, nothing copied), entered with `chroot` as the
#      image's user with the image's environment, in a private mount namespace: `whisper-assets demo` on the
#      embedded stores, then `dagster-daemon run` and `whisper-assets health` until every check is ok.
# Prints a JSON line of timings and the image size last. Needs root, podman, debootstrap.
# Environment: IMAGE, BASE_TAG, CACHE_DIR, DEBIAN_MIRROR, TORCH_WHEEL, SMOKE=0 (build only).
set -euo pipefail

IMAGE=${IMAGE:-localhost/whisper-assets:dev}
BASE_TAG=${BASE_TAG:-localhost/debian:bookworm-slim}
CACHE_DIR=${CACHE_DIR:-/var/cache/whisper-assets}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SMOKE=${SMOKE:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

die() { echo "build_image: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 1))"; }
[ "$(id -u)" = 0 ] || die "needs root (podman's rootful store, chroot)"
for tool in podman debootstrap chroot unshare; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

# 1. The base image.
t0=$(now)
if podman image exists "$BASE_TAG"; then
  base="cached"
else
  rootfs="$CACHE_DIR/bookworm-minbase"
  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    rm -rf "$rootfs.tmp" && mkdir -p "$CACHE_DIR"
    debootstrap --variant=minbase bookworm "$rootfs.tmp" "$DEBIAN_MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
    mv "$rootfs.tmp" "$rootfs"
  fi
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
  base="built"
fi
base_s=$(since "$t0")

# 2. The build context's wheels/ (Dockerfile: "wheels/ may also hold ...").
mkdir -p "$ROOT/wheels"
wheel=${TORCH_WHEEL:-}
if [ -z "$wheel" ]; then
  for dir in ${PIP_FIND_LINKS:-} /opt/wheels; do
    wheel=$(ls "$dir"/torch-2.13.0+cpu-cp311-*.whl 2>/dev/null | head -1 || true)
    [ -n "$wheel" ] && break
  done
fi
torch_index="https://download.pytorch.org/whl/cpu"
if [ -n "$wheel" ]; then
  [ -e "$ROOT/wheels/$(basename "$wheel")" ] || ln -f "$wheel" "$ROOT/wheels/" 2>/dev/null || cp "$wheel" "$ROOT/wheels/"
  torch_index=""  # the wheel is in the context; the PyTorch index may not be reachable
fi
[ -x "$PYTHON" ] && "$PYTHON" -m pip freeze --exclude-editable 2>/dev/null | grep -vi '^whisper' > "$ROOT/wheels/constraints.txt.new" \
  && { cmp -s "$ROOT/wheels/constraints.txt.new" "$ROOT/wheels/constraints.txt" || mv "$ROOT/wheels/constraints.txt.new" "$ROOT/wheels/constraints.txt"; }
rm -f "$ROOT/wheels/constraints.txt.new"
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$ca" ] && { cmp -s "$ca" "$ROOT/wheels/ca-certificates.crt" || cp "$ca" "$ROOT/wheels/ca-certificates.crt"; }

# 3. The image.
t0=$(now)
podman build --isolation=chroot --pull=never --format docker --build-arg "BASE_IMAGE=$BASE_TAG" \
  --build-arg "TORCH_INDEX_URL=$torch_index" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$CACHE_DIR/build.log" 2>&1 \
  || { tail -30 "$CACHE_DIR/build.log" >&2; die "podman build failed; see $CACHE_DIR/build.log"; }
build_s=$(since "$t0")
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "built $IMAGE ($((size / 1000000)) MB) in ${build_s} s" >&2
if [ "$SMOKE" = 0 ]; then
  echo "{\"base\": \"$base\", \"base_s\": $base_s, \"build_s\": $build_s, \"image_bytes\": $size}"
  exit 0
fi

# 4. Its entry points, in its file system.
t0=$(now)
ctr=$(podman create "$IMAGE")
cleanup() { podman umount "$ctr" >/dev/null 2>&1 || true; podman rm -f "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
mnt=$(podman mount "$ctr")
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | grep . > "$mnt/tmp/image.env"
uid=$(chroot "$mnt" id -u "$user") gid=$(chroot "$mnt" id -g "$user")
mount_s=$(since "$t0")
export mnt uid gid
unshare --mount --propagation private bash -euo pipefail -c '
  mount -t proc proc "$mnt/proc"
  mount -t tmpfs -o mode=755 tmpfs "$mnt/dev"
  for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$node"; mknod -m 666 "$mnt/dev/$name" c "$major" "$minor"
  done
  mkdir -m 1777 "$mnt/dev/shm"
  mkdir -p -m 700 "$mnt/tmp/smoke" && chown "$uid:$gid" "$mnt/tmp/smoke"
  # The image environment; the smoke runs embedded (no DATABASE_URL, SQLite instance under the data dir).
  inside() { chroot --userspec="$uid:$gid" "$mnt" env -i $(grep -v "^DAGSTER_HOME=" "$mnt/tmp/image.env") \
               WHISPER_DATA_DIR=/tmp/smoke HOME=/tmp/smoke WHISPER_TORCH_THREADS=1 "$@"; }
  t0=$(date +%s.%N)
  inside whisper-assets demo > "$mnt/tmp/smoke-demo.log" 2>&1 || { tail -40 "$mnt/tmp/smoke-demo.log"; exit 3; }
  grep -qE "(^|[^0-9])0 pending," "$mnt/tmp/smoke-demo.log" || { tail -20 "$mnt/tmp/smoke-demo.log"; echo "demo left messages pending"; exit 3; }
  echo "demo_s=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")" > "$mnt/tmp/smoke.times"
  t0=$(date +%s.%N)
  # In its own session (setsid execs: $! is the session id), so that stopping it stops chroot, env,
  # the daemon and whatever it started: killing the background shell alone left the daemon running.
  setsid chroot --userspec="$uid:$gid" "$mnt" env -i $(grep -v "^DAGSTER_HOME=" "$mnt/tmp/image.env") \
    WHISPER_DATA_DIR=/tmp/smoke HOME=/tmp/smoke WHISPER_TORCH_THREADS=1 DAGSTER_HOME=/tmp/smoke/dagster \
    dagster-daemon run -m whisper_assets.definitions > "$mnt/tmp/smoke-daemon.log" 2>&1 &
  daemon=$!
  status=1
  for _ in $(seq 40); do
    sleep 3
    if inside whisper-assets health > "$mnt/tmp/smoke-health.json" 2> "$mnt/tmp/smoke-health.err"; then status=0; break; fi
  done
  kill -TERM -- "-$daemon" 2>/dev/null || true
  for _ in $(seq 15); do kill -0 -- "-$daemon" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true
  cat "$mnt/tmp/smoke-health.json"
  [ "$status" = 0 ] || { tail -5 "$mnt/tmp/smoke-health.err"; tail -20 "$mnt/tmp/smoke-daemon.log"; exit 4; }
  echo "health_s=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")" >> "$mnt/tmp/smoke.times"
' >&2 || die "the smoke run inside the image failed (above)"
demo_s=$(sed -n 's/^demo_s=//p' "$mnt/tmp/smoke.times"); health_s=$(sed -n 's/^health_s=//p' "$mnt/tmp/smoke.times")
echo "{\"base\": \"$base\", \"base_s\": $base_s, \"build_s\": $build_s, \"image_bytes\": $size, \"mount_s\": $mount_s, \"demo_s\": $demo_s, \"health_s\": $health_s}"
