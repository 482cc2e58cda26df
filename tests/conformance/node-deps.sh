# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the conformance tests that validate traffic against the
# OpenAPI file: conformance_node_deps DIR installs ajv, ajv-formats and yaml
# as pinned in tests/conformance/node/package-lock.json into DIR (once; a
# matching install is reused) and sets VALIDATE to the validator's command.
# Exits 77 (CTest: skipped), saying why, without node, npm or the registry.
conformance_node_deps() {
	local dir=$1 here lock_sum
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	_conformance_skip() {
		{
			echo "########################################################"
			echo "# OPENAPI VALIDATION SKIPPED: $*"
			echo "# Install Debian's nodejs and npm (tools/bootstrap) and"
			echo "# let npm reach registry.npmjs.org to run it."
			echo "########################################################"
		} >&2
		exit 77
	}
	command -v node >/dev/null || _conformance_skip "node is not installed"
	command -v npm >/dev/null || _conformance_skip "npm is not installed"
	mkdir -p "$dir"
	# Two tests may install at once: one at a time.
	exec {_conformance_lock}>"$dir/.lock"
	flock "$_conformance_lock"
	lock_sum=$(cat "$here/node/package.json" "$here/node/package-lock.json" | sha256sum | cut -d' ' -f1)
	if [ "$(cat "$dir/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
		cp "$here/node/package.json" "$here/node/package-lock.json" "$dir/"
		if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
			tail -n 15 "$dir/npm.log" >&2
			_conformance_skip "npm ci failed (is the npm registry reachable?); log: $dir/npm.log"
		fi
		echo "$lock_sum" >"$dir/.lock-sum"
	fi
	# ES modules find their imports next to them, not through NODE_PATH.
	cp "$here/validate.mjs" "$dir/validate.mjs.tmp"
	mv "$dir/validate.mjs.tmp" "$dir/validate.mjs"
	flock -u "$_conformance_lock"
	VALIDATE=(node "$dir/validate.mjs")
}
