#!/usr/bin/env bash
# The slow, opt-in container check (LOUYUAN_DOCKER_FULL=1 bash
# scripts/docker-test.sh runs it inside docker-test.sh's private dockerd;
# expect 10-20 minutes on 2 cores):
#
# 1. a Debian bookworm rootfs from Debian's packages (debootstrap, with
#    mariadb-server, mariadb-client and redis-server), or the tar named by
#    LOUYUAN_DOCKER_ROOTFS_TAR (made by an earlier run) to save the download;
# 2. stand-ins made from it and tagged with the names compose.yaml and the
#    Dockerfile use:
#    - golang:1.26.8-bookworm: the rootfs plus this host's /usr/local/go
#      (which must be go1.26.8) and the project's modules as a file module
#      proxy (GOPROXY=file:///modproxy: the real image fetches them from
#      proxy.golang.org);
#    - mysql:8.4: MariaDB with an entrypoint that does what the MySQL
#      image's does with MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER and
#      MYSQL_PASSWORD, and passes the command's flags to the server;
#    - redis:7-alpine: Debian's redis-server, WORKDIR /data;
#    gcr.io/distroless/static-debian12:nonroot is docker-test.sh's stand-in;
# 3. `docker-compose build` (the legacy builder, as docker-compose 1.29
#    builds) of the unmodified multi-stage Dockerfile, then
#    `docker-compose up -d` with generated secrets in an env file, waits for
#    every service to be healthy, logs in as the demo staff with the
#    password printed once in the log, binds a WeChat user with an invite
#    code, opens a motion and casts a ballot that the tally counts;
# 4. `docker-compose down -v`, and checks that nothing is left.
#
# Expects DOCKER_HOST (the private daemon), WORK and DOCKER_BIN from
# docker-test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
: "${WORK:?run through LOUYUAN_DOCKER_FULL=1 bash scripts/docker-test.sh}" "${DOCKER_HOST:?}" "${DOCKER_BIN:?}"
START=$(date +%s)
FULL=$WORK/full
mkdir -p "$FULL"

log() { printf 'docker-full-test: [%4ds] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
docker() { timeout "${T:-120}" "$DOCKER_BIN" "$@"; }
PROJECT=louyuanfull
compose() { timeout "${T:-300}" docker-compose -p "$PROJECT" -f "$REPO/compose.yaml" --env-file "$FULL/compose.env" "$@"; }

if ! command -v docker-compose >/dev/null; then
  log "installing docker-compose with apt-get"
  timeout 600 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >/dev/null
fi
GOVERSION=$(sed -nE 's/^go ([0-9.]+)$/\1/p' go.mod)
[ "$(/usr/local/go/bin/go env GOVERSION)" = "go$GOVERSION" ] \
  || die "/usr/local/go is $(/usr/local/go/bin/go env GOVERSION), go.mod names go$GOVERSION: the build stand-in needs that release"

down() {
  set +e
  if [ -f "$FULL/compose.env" ]; then
    T=120 compose down -v --remove-orphans >/dev/null 2>&1
  fi
}
trap 'rc=$?; [ $rc = 0 ] || [ ! -f "$FULL/compose.env" ] || { T=30 compose ps >&2; T=30 compose logs --no-color --tail=30 >&2; }; down; exit $rc' EXIT

# --- 1. the Debian rootfs ---------------------------------------------------------
ROOTFS_TAR=${LOUYUAN_DOCKER_ROOTFS_TAR:-}
if [ -z "$ROOTFS_TAR" ] || [ ! -s "$ROOTFS_TAR" ]; then
  command -v debootstrap >/dev/null || timeout 600 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null
  log "debootstrap bookworm (minbase + mariadb-server, mariadb-client, redis-server)"
  mkdir -p "$FULL/rootfs/usr/sbin"
  # No daemon may start inside the chroot while packages install.
  printf '#!/bin/sh\nexit 101\n' >"$FULL/rootfs/usr/sbin/policy-rc.d"
  chmod +x "$FULL/rootfs/usr/sbin/policy-rc.d"
  timeout 1500 debootstrap --variant=minbase --include=mariadb-server,mariadb-client,redis-server,ca-certificates \
    bookworm "$FULL/rootfs" "${LOUYUAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$FULL/debootstrap.log" 2>&1 \
    || { tail -n 30 "$FULL/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -f "$FULL/rootfs/usr/sbin/policy-rc.d"
  rm -rf "$FULL/rootfs/var/cache/apt/archives/"*.deb "$FULL/rootfs/var/lib/apt/lists/"* \
    "$FULL/rootfs/usr/share/doc/"* "$FULL/rootfs/usr/share/man/"* "$FULL/rootfs/usr/share/locale/"*
  ROOTFS_TAR=${LOUYUAN_DOCKER_ROOTFS_TAR:-$FULL/rootfs.tar}
  tar -C "$FULL/rootfs" --numeric-owner -cf "$ROOTFS_TAR" .
  rm -rf "$FULL/rootfs"
  log "rootfs: $(du -m "$ROOTFS_TAR" | cut -f1) MB in $ROOTFS_TAR"
fi
T=600 docker import "$ROOTFS_TAR" louyuan-full/debian:bookworm >/dev/null

# --- 2. the stand-ins ---------------------------------------------------------------
log "making the stand-ins for golang:$GOVERSION-bookworm, mysql:8.4 and redis:7-alpine"
GOCTX=$FULL/golang
mkdir -p "$GOCTX"
# The toolchain without its tests and docs.
tar -C /usr/local -cf - --exclude=go/test --exclude=go/doc --exclude=go/api --exclude=go/misc go | tar -C "$GOCTX" -xf -
# The project's modules, copied out of this host's module cache as a file
# proxy (only what go.mod needs).
# `go mod download` wants the whole module graph, more than a build reads:
# the host's cache gets what it lacks first (from the host's GOPROXY).
HOST_MODCACHE=$(go env GOMODCACHE)
timeout 600 go mod download
GOFLAGS=-mod=mod GOMODCACHE=$FULL/modcache GOPROXY="file://$HOST_MODCACHE/cache/download" GOSUMDB=off \
  timeout 600 go mod download
mv "$FULL/modcache/cache/download" "$GOCTX/modproxy"
chmod -R u+w "$FULL/modcache"; rm -rf "$FULL/modcache"
cat >"$GOCTX/Dockerfile" <<EOF
FROM louyuan-full/debian:bookworm
COPY go /usr/local/go
COPY modproxy /modproxy
ENV GOLANG_VERSION=$GOVERSION GOTOOLCHAIN=local GOPATH=/go GOPROXY=file:///modproxy GOSUMDB=off \
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
T=600 docker build -q -t "golang:$GOVERSION-bookworm" "$GOCTX" >/dev/null
rm -rf "$GOCTX"

DBCTX=$FULL/mysql
mkdir -p "$DBCTX"
cat >"$DBCTX/entrypoint.sh" <<'EOF'
#!/bin/sh
# Stand-in for the mysql:8.4 image's entrypoint, on Debian's MariaDB: the
# first start creates MYSQL_DATABASE, MYSQL_USER/MYSQL_PASSWORD and sets
# MYSQL_ROOT_PASSWORD with the server listening on no TCP port; then the
# server runs with the command's flags.
set -eu
DATADIR=/var/lib/mysql
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld "$DATADIR"
if [ ! -d "$DATADIR/mysql" ]; then
  : "${MYSQL_ROOT_PASSWORD:?}" "${MYSQL_DATABASE:?}" "${MYSQL_USER:?}" "${MYSQL_PASSWORD:?}"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db >/dev/null
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket=/run/mysqld/init.sock "$@" &
  pid=$!
  i=0
  until mariadb --socket=/run/mysqld/init.sock -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 120 ] || { echo "init server did not start" >&2; exit 1; }; sleep 0.5
  done
  mariadb --socket=/run/mysqld/init.sock -uroot <<SQL
DROP USER IF EXISTS ''@'localhost';
DROP USER IF EXISTS ''@'$(hostname)';
CREATE DATABASE \`$MYSQL_DATABASE\`;
CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';
ALTER USER 'root'@'localhost' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
FLUSH PRIVILEGES;
SQL
  kill "$pid"; wait "$pid" || true
  echo "stand-in mysql: initialised $MYSQL_DATABASE for $MYSQL_USER"
fi
exec mariadbd --user=mysql --datadir="$DATADIR" --bind-address=0.0.0.0 --port=3306 "$@"
EOF
chmod +x "$DBCTX/entrypoint.sh"
# The package's postinst made system tables in /var/lib/mysql: the image
# must start empty, as the real one does, for the entrypoint to create the
# database and users.
cat >"$DBCTX/Dockerfile" <<'EOF'
FROM louyuan-full/debian:bookworm
RUN rm -rf /var/lib/mysql && mkdir -p /var/lib/mysql /run/mysqld && chown mysql:mysql /var/lib/mysql /run/mysqld
COPY entrypoint.sh /usr/local/bin/
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
EOF
T=300 docker build -q -t mysql:8.4 "$DBCTX" >/dev/null
printf 'FROM louyuan-full/debian:bookworm\nWORKDIR /data\nEXPOSE 6379\nCMD ["redis-server"]\n' | T=300 docker build -q -t redis:7-alpine - >/dev/null
T=60 docker rmi louyuan-full/debian:bookworm >/dev/null 2>&1 || true

# --- 3. compose -----------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "MYSQL_ROOT_PASSWORD=$(openssl rand -hex 24)"
  echo "LOUYUAN_DB_PASSWORD=$(openssl rand -hex 24)"
  echo "LOUYUAN_REDIS_PASSWORD=$(openssl rand -hex 24)"
  echo "LOUYUAN_PHONE_KEY=$(openssl rand -base64 32)"
  echo "LOUYUAN_AUDIT_KEY=$(openssl rand -hex 32)"
  echo "LOUYUAN_PORT=$PORT"
} >"$FULL/compose.env"
chmod 600 "$FULL/compose.env"

# A missing secret stops compose with the message after :?.
: >"$FULL/empty.env"
if out=$(timeout 60 env -u MYSQL_ROOT_PASSWORD docker-compose -p "$PROJECT" -f "$REPO/compose.yaml" --env-file "$FULL/empty.env" config 2>&1); then
  die "compose.yaml is accepted without secrets"
fi
grep -q 'in .env' <<<"$out" || die "no helpful message without secrets: $out"

if [ "${LOUYUAN_DOCKER_FULL_SKIP_BUILD:-}" = 1 ]; then
  # For debugging the compose part only: the runtime image docker-test.sh
  # built from the prebuilt binary stands in for the multi-stage build.
  log "LOUYUAN_DOCKER_FULL_SKIP_BUILD=1: NOT building the multi-stage Dockerfile; using $TAG"
  T=30 docker tag "${TAG:?}" louyuan:latest
else
  log "docker-compose build (the multi-stage Dockerfile, legacy builder; the Go build is slow)"
  T=2400 compose build >"$FULL/build.log" 2>&1 || { tail -n 40 "$FULL/build.log" >&2; die "docker-compose build failed"; }
fi
log "docker-compose up"
T=600 compose up -d --no-build >"$FULL/up.log" 2>&1 || { cat "$FULL/up.log" >&2; die "docker-compose up failed"; }

cid=$(T=30 compose ps -q louyuan)
for i in $(seq 1 180); do
  health=$(T=10 docker inspect -f '{{.State.Health.Status}}' "$cid")
  [ "$health" = healthy ] && break
  [ "$i" = 180 ] && die "louyuan is $health after 180s"
  sleep 1
done
for s in mysql redis; do
  [ "$(T=10 docker inspect -f '{{.State.Health.Status}}' "$(T=30 compose ps -q $s)")" = healthy ] || die "$s is not healthy"
done
log "all three services healthy; louyuan on 127.0.0.1:$PORT"

BASE=http://127.0.0.1:$PORT
j() { sed -nE "s/.*\"$1\":\"?([^\",}]+)\"?.*/\1/p" | head -n 1; }
read -r user password < <(T=30 compose logs --no-color louyuan | sed -nE 's/.*staff login: ([^ ]+) \/ ([^ ]+) .*/\1 \2/p' | head -n 1)
[ -n "${password:-}" ] || die "no staff login in the louyuan log"
[ "$password" != louyuan-demo ] || die "the production database got the public demo password"
staff=$(curl -fsS -m 20 -X POST "$BASE/api/v1/auth/staff/login" -d "{\"username\":\"$user\",\"password\":\"$password\"}" | j access_token)
[ -n "$staff" ] || die "staff login failed"
curl -sS -m 20 -o /dev/null -w '%{http_code}' -X POST "$BASE/api/v1/auth/staff/login" -d "{\"username\":\"$user\",\"password\":\"louyuan-demo\"}" \
  | grep -q 401 || die "the public demo password logs in"

code=$(T=30 docker cp "$cid:/var/lib/louyuan/demo-invites.tsv" - | tar -xOf - | awk -F'\t' 'NR==2{print $4}')
[ -n "$code" ] || die "no invite code in the data volume"
wang=$(curl -fsS -m 20 -X POST "$BASE/api/v1/auth/wechat/login" -d '{"code":"wang.full1"}' | j access_token)
[ -n "$wang" ] || die "WeChat login failed"
hh=$(curl -fsS -m 20 -X POST "$BASE/api/v1/me/households" -H "Authorization: Bearer $wang" -d "{\"invite_code\":\"$code\"}" \
  | sed -nE 's/.*"household_id":([0-9]+).*/\1/p') || die "binding with the invite code failed"
[ -n "$hh" ] || die "binding answered no household_id"

opens=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ); closes=$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)
motion=$(curl -fsS -m 20 -X POST "$BASE/api/v1/courtyards/1/motions" -H "Authorization: Bearer $staff" \
  -d "{\"scope_type\":\"courtyard\",\"title\":\"1号楼加装电梯\",\"rule\":\"major\",\"ballot_mode\":\"named\",\"notice_days\":0,\"objection_days\":7,\"opens_at\":\"$opens\",\"closes_at\":\"$closes\"}" \
  | sed -nE 's/^\{"id":([0-9]+).*/\1/p')
[ -n "$motion" ] || die "creating a motion failed"
curl -fsS -m 20 -X POST "$BASE/api/v1/motions/$motion/publish" -H "Authorization: Bearer $staff" >/dev/null || die "publishing failed"
receipt=
for _ in $(seq 1 60); do
  sleep 1
  out=$(curl -sS -m 20 -X POST "$BASE/api/v1/motions/$motion/ballots" -H "Authorization: Bearer $wang" -d "{\"household_id\":$hh,\"options\":[\"agree\"]}")
  receipt=$(j receipt <<<"$out")
  [ -n "$receipt" ] && break
done
[ -n "$receipt" ] || die "no ballot was accepted within 60s: $out"
curl -fsS -m 20 "$BASE/api/v1/receipts/$receipt" -H "Authorization: Bearer $wang" | grep -q '"counted":true' \
  || die "the receipt $receipt is not counted"
log "staff login, WeChat login and binding, motion $motion, ballot counted (receipt $receipt)"

# --- 4. down -v ----------------------------------------------------------------------------
T=180 compose down -v >/dev/null 2>&1 || die "docker-compose down -v failed"
left=$(T=30 docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"; T=30 docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
[ -z "$left" ] || die "left after down -v: $left"
rm -f "$FULL/compose.env"
log "down -v: no container or volume left; full check passed in $(($(date +%s) - START))s"
