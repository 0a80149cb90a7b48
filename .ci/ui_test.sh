#!/usr/bin/env bash
# .ci/ui_test.sh tests the web UI in a real browser: it checks that the
# embedded front-end assets (web/static) are what web/ui builds, starts a
# server over a seeded store (the grid, the registry, a pipeline, and a
# large experiment for the page-load measurement), and runs
# .ci/ui/ui.test.mjs: Debian's chromium driven by playwright-core clicks
# through experiments -> runs -> run -> compare -> registry -> pipeline,
# checks the content, and saves screenshots and timings.json.
#
# Environment: UI_SHOTS (where the screenshots go; default
# .ci/ui/screenshots), UI_SCALE (runs in the large experiment; default
# 10000), UI_LOAD_BUDGET_MS (default 300), UI_SKIP_ASSET_CHECK=1 (for a
# work tree whose web/static is not committed yet). Needs root or sudo to install
# chromium and nodejs when they are missing.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
	export PATH="/usr/local/go/bin:$PATH"
fi
shots=${UI_SHOTS:-$PWD/.ci/ui/screenshots}
scale=${UI_SCALE:-10000}

need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if ((${#need[@]})); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		sudo=(sudo)
	fi
	echo "installing ${need[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends "${need[@]}" >/dev/null
fi
echo "node $(node --version), $(/usr/bin/chromium --version 2>/dev/null)"

# The assets the Go binary embeds must be the build of the sources beside
# them: rebuild, and fail if that changes anything.
(cd web/ui && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
if [[ ${UI_SKIP_ASSET_CHECK:-} != 1 ]] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	if ! git diff --exit-code --stat -- web/static; then
		echo "web/static differs from the build of web/ui: run npm run build in web/ui and commit web/static"
		exit 1
	fi
	if [[ -n $(git status --porcelain -- web/static) ]]; then
		echo "the build of web/ui made files that are not committed:"
		git status --porcelain -- web/static
		exit 1
	fi
fi
echo "web/static matches the build of web/ui"

(cd .ci/ui && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
server=
cleanup() {
	if [[ -n $server ]]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/uiserver" ./web/internal/uiserver
echo "seeding the grid and $scale runs, then serving on 127.0.0.1"
start=$SECONDS
"$work/uiserver" -addr 127.0.0.1:0 -dir "$work/data" -scale "$scale" -auth -info "$work/info.json" >"$work/server.log" 2>&1 &
server=$!
until [[ -f $work/info.json ]]; do
	if ! kill -0 "$server" 2>/dev/null; then
		echo "the UI server stopped:"
		cat "$work/server.log"
		exit 1
	fi
	if ((SECONDS - start > 900)); then
		echo "the UI server did not start in 900 s:"
		cat "$work/server.log"
		exit 1
	fi
	sleep 1
done
echo "server up in $((SECONDS - start)) s: $(tail -n 1 "$work/server.log")"

mkdir -p "$shots"
UI_INFO=$work/info.json UI_SHOTS=$shots node .ci/ui/ui.test.mjs
echo "screenshots and timings.json in $shots"
