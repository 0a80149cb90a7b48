#!/usr/bin/env bash
# .ci/postgres.sh starts or stops a throwaway PostgreSQL server for the
# tests of tracking/sqlstore:
#
#   eval "$(bash .ci/postgres.sh start)"   # sets YOLOPS_TEST_POSTGRES_URL
#   bash .ci/postgres.sh stop
#
# start installs Debian's postgresql package if it is missing (apt-get, as
# root or with sudo), creates a cluster in a new temporary directory, starts
# it on 127.0.0.1 on a free port with fsync on, creates a database and a
# password-protected user, and prints the export line on stdout (everything
# else goes to stderr). PostgreSQL refuses to run as root, so as root the
# cluster belongs to the postgres user. A second start while the server
# runs prints the same line again. stop shuts the server down and deletes
# the cluster.
set -euo pipefail

state=${YOLOPS_PG_STATE:-${TMPDIR:-/tmp}/yolops-postgres-$(id -u).state}

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

# as_owner runs a command as the user that owns the cluster.
as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

find_bin() {
	local dir
	dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [[ -x $dir/pg_ctl ]]; then
		echo "$dir"
	fi
}

install_postgres() {
	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		sudo=(sudo)
	fi
	log "installing Debian's postgresql"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends postgresql >&2
}

# remove_cluster deletes the temporary directory of the cluster in $dir,
# checking that it is one this script made.
remove_cluster() {
	local top
	top=$(dirname "$dir")
	if [[ $(basename "$top") == yolops-pg.* ]]; then
		rm -rf "$top"
	else
		log "not deleting $top: not a directory made by this script"
	fi
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	if [[ -f $state ]]; then
		# shellcheck disable=SC1090
		source "$state"
		if as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
			log "already running in $dir"
			echo "export YOLOPS_TEST_POSTGRES_URL=$url"
			return
		fi
		log "stale state $state (server not running): starting afresh"
		remove_cluster
		rm -f "$state"
	fi

	bin=$(find_bin)
	if [[ -z $bin ]]; then
		install_postgres
		bin=$(find_bin)
		[[ -n $bin ]] || { log "no pg_ctl under /usr/lib/postgresql/*/bin after installing"; exit 1; }
	fi

	# As root the cluster belongs to postgres, which must be able to reach
	# it: /tmp, not a TMPDIR that may sit in root's home.
	local base=${TMPDIR:-/tmp}
	[[ $(id -u) -ne 0 ]] || base=/tmp
	dir=$(mktemp -d "$base/yolops-pg.XXXXXX")
	chmod 700 "$dir"
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || { log "running as root, but there is no postgres user to own the cluster"; exit 1; }
		chown postgres: "$dir"
	fi
	local password
	password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$password" >"$dir/.pw"
	[[ $(id -u) -ne 0 ]] || chown postgres: "$dir/.pw"
	log "initdb in $dir"
	if ! as_owner "$bin/initdb" -D "$dir/data" -U yolops --pwfile="$dir/.pw" -E UTF8 --no-locale \
		--auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	rm -f "$dir/.pw"

	local port tries
	for tries in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		port_free "$port" || continue
		if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c synchronous_commit=on -c max_connections=200" >&2; then
			break
		fi
		log "start on port $port failed (try $tries):"
		tail -n 5 "$dir/server.log" >&2 || true
		port=
	done
	[[ -n $port ]] || { log "could not start PostgreSQL; log in $dir/server.log"; exit 1; }

	as_owner "$bin/psql" -h "$dir" -p "$port" -U yolops -d postgres -q -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE yolops_test" >&2
	url="postgresql://yolops:$password@127.0.0.1:$port/yolops_test?sslmode=disable"
	dir="$dir/data"
	{
		printf 'bin=%q\n' "$bin"
		printf 'dir=%q\n' "$dir"
		printf 'url=%q\n' "$url"
	} >"$state"
	log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
	echo "export YOLOPS_TEST_POSTGRES_URL=$url"
}

stop() {
	if [[ ! -f $state ]]; then
		log "not running (no $state)"
		return
	fi
	# shellcheck disable=SC1090
	source "$state"
	as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || log "pg_ctl stop failed; removing the cluster anyway"
	remove_cluster
	rm -f "$state"
	log "stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
*)
	echo "usage: bash .ci/postgres.sh start|stop" >&2
	exit 2
	;;
esac
