# SPDX-License-Identifier: GPL-2.0-or-later
# playwright-core for the browser tests, as tests/ui/package-lock.json pins
# it, installed from the npm registry into a folder of the build tree and
# reused while the lock file is unchanged (never a browser download:
# Debian's Chromium is the browser). Source it, then:
#
#   playwright_need NODE_DIR   sets PLAYWRIGHT_CORE (the module to import)
#                              and CHROMIUM, or exits 77 saying loudly why

playwright_skip() {
	{
		echo "########################################################"
		echo "# SKIPPED: $*"
		echo "# (tools/bootstrap installs chromium, nodejs and npm; npm"
		echo "# must reach registry.npmjs.org once)"
		echo "########################################################"
	} >&2
	exit 77
}

playwright_need() {
	local node_dir=$1 here lock lock_sum
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	lock=$here/ui/package-lock.json
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
	[ -x "$CHROMIUM" ] || playwright_skip "no Chromium at $CHROMIUM"
	command -v node >/dev/null || playwright_skip "node is not installed"
	command -v npm >/dev/null || playwright_skip "npm is not installed"
	lock_sum=$(sha256sum "$lock" | cut -d' ' -f1)
	if [ "$(cat "$node_dir/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
		mkdir -p "$node_dir"
		cp "$here/ui/package.json" "$lock" "$node_dir/"
		if ! (cd "$node_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
			npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
			tail -n 15 "$node_dir/npm.log" >&2
			playwright_skip "npm ci of playwright-core failed (is the npm registry reachable?)"
		fi
		echo "$lock_sum" >"$node_dir/.lock-sum"
	fi
	PLAYWRIGHT_CORE=$node_dir/node_modules/playwright-core/index.mjs
	export PLAYWRIGHT_CORE CHROMIUM
}
