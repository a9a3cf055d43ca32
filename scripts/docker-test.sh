#!/usr/bin/env bash
# Tests the container image here, without a registry (scripts/test.sh calls
# it; see the README's Docker section):
#
# 1. starts a private dockerd (Debian's docker.io, installed with apt-get when
#    missing) on its own socket, data root, exec root and pidfile, with
#    --iptables=false --bridge=none (containers use --network host);
# 2. builds the server on the host for Linux with CGO_ENABLED=0;
# 3. makes a stand-in for gcr.io/distroless/static-debian12:nonroot (see
#    make_standin) and tags it with that name inside the private daemon;
# 4. builds the Dockerfile's runtime stage with BuildKit from the prebuilt
#    binary (--target runtime --build-arg BINARY_FROM=prebuilt);
# 5. runs the image with no volume and with a fresh named volume; each run:
#    /healthz and /readyz answer, /metrics only on its own listener, Docker's HEALTHCHECK (the binary's
#    healthcheck subcommand) turns healthy, the process is uid 65532, the data
#    folder is written and owned by 65532, the demo staff login printed at
#    the first start works, and SIGTERM ends it with exit code 0; then a
#    root-owned host folder as the data folder stops it with the
#    actionable message;
# 6. stops its dockerd and removes everything it made.
#
# LOUYUAN_DOCKER_FULL=1 also builds the unmodified multi-stage Dockerfile and
# runs compose.yaml (scripts/docker-full-test.sh), when that script exists.
#
# Every step is bounded by a timeout. Needs root (dockerd) and Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
START=$(date +%s)

log() { printf 'docker-test: [%3ds] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# Cannot run here at all: skip locally, fail under CI.
cannot() {
  if [ "${CI:-}" = true ]; then die "$*"; fi
  log "SKIP: $* (under CI=true this fails; LOUYUAN_SKIP_DOCKER=1 skips quietly)"
  exit 0
}

# What needs no engine: no frontend fetched, the Go image pinned to go.mod's
# release, the context filtered.
! grep -qiE '^# *syntax *=' Dockerfile || die "Dockerfile has a '# syntax=' line: BuildKit would fetch a frontend image"
GOVERSION=$(sed -nE 's/^go ([0-9]+\.[0-9]+\.[0-9]+)$/\1/p' go.mod)
grep -q "^ARG GO_IMAGE=golang:$GOVERSION-" Dockerfile || die "the Dockerfile's Go image is not golang:$GOVERSION-… (go.mod says go $GOVERSION)"
for p in .git data bin .env node_modules; do
  grep -qxE "(\*\*/)?$p" .dockerignore || die ".dockerignore does not exclude $p"
done

[ "$(uname -s)" = Linux ] || cannot "needs Linux"
[ "$(id -u)" = 0 ] || cannot "needs root to run its own dockerd"
command -v go >/dev/null || die "go is not installed"
command -v curl >/dev/null || die "curl is not installed"

if ! command -v dockerd >/dev/null; then
  command -v apt-get >/dev/null || cannot "dockerd is missing and apt-get is not available to install docker.io"
  log "installing docker.io with apt-get"
  if ! timeout 600 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io >/dev/null; then
    timeout 300 apt-get update >/dev/null
    timeout 600 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io >/dev/null
  fi
fi
# Debian's CLI (20.10, with BuildKit) goes with Debian's daemon; another CLI
# on the PATH may lack BuildKit (buildx).
DOCKER_BIN=/usr/bin/docker
[ -x "$DOCKER_BIN" ] || DOCKER_BIN=$(command -v docker) || die "no docker CLI"

WORK=$(mktemp -d /var/tmp/louyuan-docker-test.XXXXXX)
SOCK=$WORK/docker.sock
DATA_ROOT=$WORK/data-root
EXEC_ROOT=$WORK/exec-root
PIDFILE=$WORK/dockerd.pid
export DOCKER_HOST=unix://$SOCK DOCKER_CONFIG=$WORK/cli-config
mkdir -p "$DOCKER_CONFIG" "$DATA_ROOT" "$EXEC_ROOT"
echo '{}' >"$WORK/daemon.json"
DOCKERD_PID=
TAG=louyuan-docker-test:runtime
STANDIN=gcr.io/distroless/static-debian12:nonroot

docker() { timeout "${T:-120}" "$DOCKER_BIN" "$@"; }

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    if [ "$rc" != 0 ]; then
      log "containers at failure:"; T=20 docker ps -a >&2
      log "last dockerd log lines:"; tail -n 20 "$WORK/dockerd.log" >&2
    fi
    # Containers and volumes first, so that no mount is left behind.
    ids=$(T=20 docker ps -aq)
    [ -z "$ids" ] || T=60 docker rm -f $ids >/dev/null
    T=30 docker volume prune -f >/dev/null
    kill -TERM "$DOCKERD_PID"
    for _ in $(seq 1 40); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && { log "dockerd did not stop; killing it"; kill -KILL "$DOCKERD_PID"; sleep 1; }
  fi
  # dockerd leaves <exec-root>/netns/default mounted; unmount whatever is
  # still mounted below WORK (deepest first).
  awk -v w="$WORK" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf "$WORK"
  if [ "$rc" = 0 ]; then log "passed in $(($(date +%s) - START))s"; else log "failed (exit $rc) after $(($(date +%s) - START))s"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the private dockerd -------------------------------------------------
log "starting dockerd on $SOCK"
dockerd --config-file "$WORK/daemon.json" -H "unix://$SOCK" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
  --pidfile "$PIDFILE" --iptables=false --ip-masq=false --bridge=none --storage-driver overlay2 \
  >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for i in $(seq 1 120); do
  T=5 docker version >/dev/null 2>&1 && break
  kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -n 30 "$WORK/dockerd.log" >&2; die "dockerd exited"; }
  [ "$i" = 120 ] && { tail -n 30 "$WORK/dockerd.log" >&2; die "dockerd did not answer within 60s"; }
  sleep 0.5
done
log "dockerd $(T=5 docker version -f '{{.Server.Version}}') up"

# --- 2. the server, built on the host -----------------------------------------
CTX=$WORK/context
mkdir -p "$CTX/prebuilt/data" "$CTX/configs"
cp configs/config.example.yaml "$CTX/configs/"
log "building the server (CGO_ENABLED=0 GOOS=linux)"
CGO_ENABLED=0 GOOS=linux GOARCH=$(go env GOARCH) timeout 900 go build -ldflags="-s -w" -o "$CTX/prebuilt/louyuan" ./server

# --- 3. the stand-in runtime base image ---------------------------------------
# Stands in for gcr.io/distroless/static-debian12:nonroot, which cannot be
# pulled here. It holds what that image gives a static Go binary: /etc/passwd
# and /etc/group with root (0), nobody (65534) and nonroot (65532),
# /home/nonroot (65532, 0700), /tmp (1777), the CA bundle at
# /etc/ssl/certs/ca-certificates.crt (from this host), /etc/nsswitch.conf;
# and its image config: USER 65532:65532, WORKDIR /home/nonroot, PATH and
# SSL_CERT_FILE. Not included (not used by the server): tzdata (the server
# uses a fixed UTC+8 zone), /etc/os-release, the Debian package database and
# licences. Only the real image, pulled where a registry is reachable,
# checks those.
make_standin() {
  local root=$WORK/standin
  mkdir -p "$root"/{etc/ssl/certs,tmp,home/nonroot,root}
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root" "$root/home/nonroot"
  chown 65532:65532 "$root/home/nonroot"
  tar -C "$root" --numeric-owner -cf "$WORK/standin.tar" .
  T=60 docker import \
    --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    "$WORK/standin.tar" "$STANDIN" >/dev/null
}
log "making the stand-in for $STANDIN ($(du -k /etc/ssl/certs/ca-certificates.crt | cut -f1) KB CA bundle)"
make_standin

# --- 4. the image's runtime stage -------------------------------------------
log "building the Dockerfile's runtime stage from the prebuilt binary (BuildKit)"
DOCKER_BUILDKIT=1 T=300 docker build --progress=plain -q -f "$REPO/Dockerfile" --target runtime \
  --build-arg BINARY_FROM=prebuilt -t "$TAG" "$CTX" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; die "docker build of the runtime stage failed"; }
[ "$(T=10 docker image inspect -f '{{.Config.User}}' "$TAG")" = 65532:65532 ] || die "image user is not 65532:65532"

# --- 5. the runs ------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# check_run NAME [docker run options...]: one container start and every check.
check_run() {
  local name=$1; shift
  local port; port=$(free_port)
  local mport; mport=$(free_port)
  local base=http://127.0.0.1:$port
  log "run '$name' on $base"
  # Host networking: both listeners get free ports (the image's own
  # LOUYUAN_METRICS_ADDR, :9090, is for a container network).
  T=60 docker run -d --name "$name" --network host -e LOUYUAN_HTTP_ADDR=127.0.0.1:$port -e LOUYUAN_METRICS_ADDR=127.0.0.1:$mport \
    --health-interval 1s --health-start-period 60s "$@" "$TAG" >/dev/null
  local ok=
  for _ in $(seq 1 120); do
    if curl -fsS -m 2 "$base/healthz" >/dev/null 2>&1; then ok=1; break; fi
    [ "$(T=10 docker inspect -f '{{.State.Running}}' "$name")" = true ] || { T=10 docker logs "$name" >&2; die "$name: the container exited"; }
    sleep 0.5
  done
  [ -n "$ok" ] || { T=10 docker logs "$name" >&2; die "$name: /healthz did not answer within 60s"; }
  curl -fsS -m 5 "$base/readyz" >/dev/null || die "$name: /readyz is not 200"
  curl -fsS -m 5 -o "$WORK/$name.metrics" "http://127.0.0.1:$mport/metrics" && grep -q '^go_goroutines' "$WORK/$name.metrics" || die "$name: /metrics does not answer on the metrics listener"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$base/metrics")" = 404 ] || die "$name: /metrics answers on the API port"

  local pid uid
  pid=$(T=10 docker inspect -f '{{.State.Pid}}' "$name")
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
  [ "$uid" = 65532 ] || die "$name: the server runs as uid $uid, want 65532 (not root)"

  # The data folder, as the container sees it: written, owned by 65532.
  T=30 docker cp "$name:/var/lib/louyuan" - | tar -tv --numeric-owner -f - >"$WORK/$name.ls"
  for f in louyuan.db dev-secrets demo-invites.tsv files/; do
    grep -q " louyuan/$f\$" "$WORK/$name.ls" || { cat "$WORK/$name.ls" >&2; die "$name: $f is missing from the data folder"; }
  done
  grep -q '^d[^ ]* 65532/65532 .* louyuan/$' "$WORK/$name.ls" || { cat "$WORK/$name.ls" >&2; die "$name: the data folder is not owned by 65532"; }

  # The staff login, found as a user finds it: in the first start's output.
  local user password token
  read -r user password < <(T=10 docker logs "$name" 2>/dev/null | sed -nE 's/^ *staff login: ([^ ]+) \/ ([^ ]+) .*/\1 \2/p' | head -n 1)
  [ -n "${password:-}" ] || { T=10 docker logs "$name" >&2; die "$name: no staff login in the output"; }
  token=$(curl -fsS -m 10 -X POST "$base/api/v1/auth/staff/login" -d "{\"username\":\"$user\",\"password\":\"$password\"}" \
    | sed -nE 's/.*"access_token":"([^"]+)".*/\1/p')
  [ -n "$token" ] || die "$name: staff login as $user failed"
  curl -fsS -m 10 "$base/api/v1/courtyards/1/households" -H "Authorization: Bearer $token" | grep -q '"room"' \
    || die "$name: the staff token does not list the demo households"

  # Docker's own health check runs `/louyuan healthcheck` inside.
  local health=
  for _ in $(seq 1 60); do
    health=$(T=10 docker inspect -f '{{.State.Health.Status}}' "$name")
    [ "$health" = healthy ] && break
    sleep 0.5
  done
  [ "$health" = healthy ] || { T=10 docker inspect -f '{{json .State.Health}}' "$name" >&2; die "$name: health is $health"; }

  T=10 docker kill --signal TERM "$name" >/dev/null
  local code
  code=$(T=40 docker wait "$name") || die "$name: still running 40s after SIGTERM"
  [ "$code" = 0 ] || { T=10 docker logs "$name" 2>&1 | tail -n 20 >&2; die "$name: exit code $code after SIGTERM, want 0"; }
  T=10 docker logs "$name" 2>&1 | grep -q '"msg":"shutting down"' || die "$name: no graceful shutdown in the log"
  log "run '$name': healthz, readyz, metrics on its own port, healthy, uid 65532, data folder written, staff login, SIGTERM → exit 0"
}

check_run no-volume
VOLUME=louyuan-docker-test-data
T=20 docker volume create "$VOLUME" >/dev/null
check_run named-volume -v "$VOLUME:/var/lib/louyuan"
vol=$(T=10 docker volume inspect -f '{{.Mountpoint}}' "$VOLUME")
[ "$(stat -c %u:%g "$vol")" = 65532:65532 ] || die "the fresh named volume is owned by $(stat -c %u:%g "$vol"), want 65532:65532"
[ -s "$vol/louyuan.db" ] || die "the named volume holds no database"

# A data folder the server cannot write (a root-owned host folder): it stops
# at once and says what to do.
mkdir -m 0755 "$WORK/root-owned"
T=60 docker run --name unwritable --network host -e LOUYUAN_HTTP_ADDR=127.0.0.1:$(free_port) \
  -v "$WORK/root-owned:/var/lib/louyuan" "$TAG" >"$WORK/unwritable.out" 2>&1 && die "the server started on an unwritable data folder"
for want in 数据目录不可写 'chown -R 65532:65532' 'named volume'; do
  grep -q "$want" "$WORK/unwritable.out" || { cat "$WORK/unwritable.out" >&2; die "unwritable data folder: the message does not say '$want'"; }
done
log "unwritable data folder: refused with the actionable message"

if [ "${LOUYUAN_DOCKER_FULL:-}" = 1 ]; then
  [ -f scripts/docker-full-test.sh ] || die "LOUYUAN_DOCKER_FULL=1 but scripts/docker-full-test.sh does not exist"
  log "LOUYUAN_DOCKER_FULL=1: the multi-stage build and compose.yaml"
  DOCKER_BIN=$DOCKER_BIN WORK=$WORK TAG=$TAG bash scripts/docker-full-test.sh
fi
