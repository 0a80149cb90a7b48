#!/usr/bin/env bash
# .ci/minio.sh runs a throwaway MinIO server on 127.0.0.1 for the S3 tests
# of ./artifacts. Use it as:
#
#   eval "$(bash .ci/minio.sh start)"   # build if needed, start, export YOLOPS_TEST_S3_*
#   go test ./artifacts/...
#   bash .ci/minio.sh stop              # stop the server and delete its data
#
# `start` prints only `export` lines on standard output (progress goes to
# standard error) and is idempotent: with a server already running it
# prints that server's lines. `build` only builds the binary, `env` prints
# the lines of the running server. Under `set -e`, note that eval "$(...)"
# hides a failure of start (eval of nothing succeeds); assign first:
#
#   minio_env=$(bash .ci/minio.sh start)
#   eval "$minio_env"
#   trap 'bash .ci/minio.sh stop' EXIT
#
# The server is built from source through the Go module proxy (MinIO
# publishes no semver tags, hence the pseudo-version) and cached in
# $YOLOPS_CI_CACHE (default ~/.cache/yolops-ci); the first build takes
# about 3.5 minutes on 2 cores and 1.6 GB of memory. The data lives in a
# temporary folder under $YOLOPS_MINIO_STATE (default $TMPDIR/yolops-minio),
# the credentials are fixed test values, and the port is the first free
# one from $YOLOPS_MINIO_PORT (default 19000) on.
set -euo pipefail

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c # 2026-02-12

cache=${YOLOPS_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/yolops-ci}
bin=$cache/bin/minio-$MINIO_VERSION
state=${YOLOPS_MINIO_STATE:-${TMPDIR:-/tmp}/yolops-minio}
access_key=yolops-test
secret_key=yolops-test-secret-key

log() { printf 'minio.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

build() {
	if [[ -x $bin ]]; then
		return
	fi
	if ! command -v go >/dev/null 2>&1; then
		export PATH="/usr/local/go/bin:$PATH"
	fi
	mkdir -p "$cache/bin"
	local tmp start=$SECONDS
	tmp=$(mktemp -d "$cache/bin/.build-XXXXXX")
	log "building $MINIO_MODULE@$MINIO_VERSION (about 3.5 minutes on 2 cores, once)"
	# go install prints only errors (to standard error); a line every 30 s
	# shows the build is alive. GOFLAGS is cleared: -mod and the like from
	# the caller's module do not apply to an install at a version.
	GOFLAGS= GOBIN=$tmp go install "$MINIO_MODULE@$MINIO_VERSION" >&2 &
	local go_pid=$! rc=0 waited=0
	while kill -0 "$go_pid" 2>/dev/null; do
		sleep 1
		if ((++waited % 30 == 0)); then
			log "still building ($waited s)"
		fi
	done
	wait "$go_pid" || rc=$?
	if ((rc != 0)); then
		rm -rf "$tmp"
		die "building MinIO failed (go install exit status $rc)"
	fi
	mv "$tmp/minio" "$bin"
	rmdir "$tmp"
	log "built $bin in $((SECONDS - start)) s"
}

# ready succeeds when the server answers its readiness probe with 200.
ready() {
	local port=$1 status
	{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
	printf 'GET /minio/health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	IFS= read -r -t 2 status <&3 || status=
	exec 3<&- 3>&-
	[[ $status == "HTTP/1."?" 200"* ]]
}

# port_free succeeds when nothing listens on the port.
port_free() {
	if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
		return 1
	fi
	return 0
}

# running succeeds, setting pid and port, when our server is up.
running() {
	[[ -f $state/pid && -f $state/port ]] || return 1
	pid=$(<"$state/pid")
	port=$(<"$state/port")
	# Make sure the pid is still our server, not a reused number.
	[[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$state/data"
}

print_env() {
	printf 'export YOLOPS_TEST_S3_ENDPOINT=%q\n' "http://127.0.0.1:$port"
	printf 'export YOLOPS_TEST_S3_ACCESS_KEY=%q\n' "$access_key"
	printf 'export YOLOPS_TEST_S3_SECRET_KEY=%q\n' "$secret_key"
}

start() {
	local pid port
	if running; then
		log "already running (pid $pid, port $port)"
		print_env
		return
	fi
	build
	rm -rf "$state"
	mkdir -p "$state/data"
	port=${YOLOPS_MINIO_PORT:-19000}
	local last=$((port + 100))
	while ! port_free "$port"; do
		port=$((port + 1))
		((port < last)) || die "no free port in ${YOLOPS_MINIO_PORT:-19000}..$last"
	done
	# Standard streams go to the log so that $(...) around start returns.
	MINIO_ROOT_USER=$access_key MINIO_ROOT_PASSWORD=$secret_key \
		MINIO_BROWSER=off MINIO_UPDATE=off \
		"$bin" server --quiet --address "127.0.0.1:$port" "$state/data" \
		</dev/null >"$state/log" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$state/pid"
	echo "$port" >"$state/port"
	local t
	for ((t = 0; t < 300; t++)); do # 30 s
		if ready "$port"; then
			log "started (pid $pid) on 127.0.0.1:$port, data in $state/data"
			print_env
			return
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$state/log" >&2
			die "MinIO exited before it was ready (log above)"
		fi
		sleep 0.1
	done
	cat "$state/log" >&2
	kill "$pid" 2>/dev/null || true
	die "MinIO was not ready after 30 s (log above)"
}

stop() {
	local pid port t
	if ! running; then
		log "not running"
		rm -rf "$state"
		return
	fi
	kill "$pid"
	for ((t = 0; t < 100; t++)); do # 10 s
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "still running after 10 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$state"
	log "stopped"
}

case ${1:-} in
build) build ;;
start) start ;;
stop) stop ;;
env)
	running || die "not running (start it with: eval \"\$(bash .ci/minio.sh start)\")"
	print_env
	;;
*) die "usage: bash .ci/minio.sh build|start|stop|env" ;;
esac
