#!/usr/bin/env bash
# .ci/mlflow_client.sh runs a real MLflow client, the npm package mlflow
# (the test in .ci/mlflow-client, installed exactly from its
# package-lock.json with npm ci), against yolops server on 127.0.0.1:
# first without authentication, then with an --auth-config holding a
# MANAGE user and a READ user. It builds the binary, starts the server on
# a free port with a temporary SQLite database and artifacts folder, runs
# node's test runner, and stops the server with SIGTERM, which must shut
# it down cleanly. Node.js and npm come from Debian when missing.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
	export PATH="/usr/local/go/bin:$PATH"
fi

log() { printf 'mlflow_client.sh: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		sudo=(sudo)
	fi
	log "installing Debian's nodejs and npm"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends nodejs npm >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/yolops-mlflow-client.XXXXXX")
pid=""
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

log "building yolops"
go build -o "$work/yolops" ./cmd/yolops

log "installing the npm client (npm ci)"
mkdir "$work/node"
cp .ci/mlflow-client/package.json .ci/mlflow-client/package-lock.json .ci/mlflow-client/mlflow_client.test.js "$work/node/"
(cd "$work/node" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

# start_server NAME [FLAGS...] starts the server and sets pid and url.
start_server() {
	local name=$1
	shift
	"$work/yolops" server --port 0 \
		--backend-store-uri "sqlite:///$work/$name.db" \
		--artifacts-destination "$work/$name-artifacts" "$@" 2>"$work/$name.log" &
	pid=$!
	url=""
	for _ in $(seq 100); do
		url=$(sed -n 's/^yolops server listening on \(http:[^ ]*\)$/\1/p' "$work/$name.log")
		[[ -n $url ]] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$work/$name.log" >&2
			log "the server exited at start"
			exit 1
		fi
		sleep 0.1
	done
	if [[ -z $url ]]; then
		cat "$work/$name.log" >&2
		log "the server did not start within 10 s"
		exit 1
	fi
	log "server $name at $url"
}

# stop_server NAME stops the server with SIGTERM and checks it exited 0.
stop_server() {
	kill -TERM "$pid"
	local status=0
	wait "$pid" || status=$?
	pid=""
	if ((status != 0)); then
		cat "$work/$1.log" >&2
		log "the server exited with status $status after SIGTERM"
		exit 1
	fi
}

run_client() {
	(cd "$work/node" && node --test mlflow_client.test.js)
}

log "without authentication"
start_server plain
MLFLOW_TRACKING_URI=$url run_client
stop_server plain

log "with authentication"
writer_pw=$(head -c 18 /dev/urandom | base64)
viewer_pw=$(head -c 18 /dev/urandom | base64)
cat >"$work/auth.yaml" <<EOF
default_permission: NO_PERMISSIONS
users:
  - username: ci
    password_hash: '$(printf '%s\n' "$writer_pw" | "$work/yolops" server hash-password)'
    permission: MANAGE
  - username: viewer
    password_hash: '$(printf '%s\n' "$viewer_pw" | "$work/yolops" server hash-password)'
    permission: READ
EOF
start_server auth --auth-config "$work/auth.yaml"
MLFLOW_TRACKING_URI=$url MLFLOW_TRACKING_USERNAME=ci MLFLOW_TRACKING_PASSWORD=$writer_pw \
	YOLOPS_VIEWER_USERNAME=viewer YOLOPS_VIEWER_PASSWORD=$viewer_pw run_client
stop_server auth
log "passed"
