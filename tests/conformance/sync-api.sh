#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks a running Locker Sync API v1 server (any implementation: lokerhub,
# a SLiMS or INLISLite plugin, ...) against docs/sync-api.md, over HTTPS
# with curl and jq.
#
#   sync-api.sh --url BASE_URL --kiosk ID --token-file FILE [--cacert PEM]
#               [--other-kiosk ID2 --other-token-file FILE2]
#               [--item BARCODE] [--fault-hook CMD] [--validate DIR]
#               [--sync-version 1.0|1.1] [--verbose]
#
#   --url          the base URL, as in the kiosk's [sync] url, e.g.
#                  https://perpus.example.go.id/locker-sync/v1 or
#                  https://slims.example.go.id/index.php?p=api/locker-sync/v1
#   --kiosk        a kiosk id registered with the server, and
#   --token-file   a file holding that kiosk's bearer token
#   --cacert       the CA certificate to verify the server with (default:
#                  the system's CAs); verification is never turned off
#   --other-kiosk, --other-token-file
#                  a second registered kiosk: checks 403 across kiosks
#   --item         the barcode of an item in a pending hold the server has
#                  routed to --kiosk: checks the item lookup finds it
#   --fault-hook   a command run as `CMD 503 ENDPOINT` and `CMD 429
#                  ENDPOINT` (ENDPOINT: changes, events, status, items) that
#                  makes the server's next request to ENDPOINT fail so;
#                  checks the error body and Retry-After
#   --validate     also validate every reply (body, and the headers every
#                  reply needs) against docs/sync-api.openapi.yaml with ajv
#                  from npm, installed into DIR as pinned in
#                  tests/conformance/node/package-lock.json (needs node,
#                  npm and the registry once; exits 77 without them)
#   --sync-version ask as a kiosk of that version of the API does on every
#                  request: 1.1 sends Lokerbuku-Sync: 1.1 from the first
#                  request on (and checks every reply says the server's
#                  version), 1.0 never sends it (v1.1 checks skipped);
#                  without it, the header is sent once the server said 1.1
#   --verbose      print every reply body, not only those of failed checks
#
# Prints one line per check, TAP style (`ok - ...`, `not ok - ...`, a skip
# as `ok - ... # SKIP why`), a summary, and exits 1 if any check failed,
# 2 on bad usage or a server that cannot be reached at all.
#
# Use a test kiosk id: the script uploads harmless events (door_closed of
# locker 1, an event of an unknown type) and heartbeats with made-up
# lockers, which the server keeps. It never reports a pickup or load of a
# real hold and never acknowledges a real command. The delta checks
# assume nothing changes for this kiosk on the server while it runs, and
# the paging check needs at least two holds routed to the kiosk.
set -euo pipefail

usage() {
	sed -n '3,47p' "$0" | sed 's/^# \{0,1\}//'
}

URL='' KIOSK='' TOKEN_FILE='' CACERT='' OTHER_KIOSK='' OTHER_TOKEN_FILE='' ITEM='' HOOK=''
VALIDATE_DIR='' SYNC_VERSION=''
VERBOSE=false
while [ $# -gt 0 ]; do
	case "$1" in
	--url) URL=${2:?--url needs a value}; shift 2 ;;
	--kiosk) KIOSK=${2:?--kiosk needs a value}; shift 2 ;;
	--token-file) TOKEN_FILE=${2:?--token-file needs a value}; shift 2 ;;
	--cacert) CACERT=${2:?--cacert needs a value}; shift 2 ;;
	--other-kiosk) OTHER_KIOSK=${2:?--other-kiosk needs a value}; shift 2 ;;
	--other-token-file)
		OTHER_TOKEN_FILE=${2:?--other-token-file needs a value}
		shift 2
		;;
	--item) ITEM=${2:?--item needs a value}; shift 2 ;;
	--fault-hook) HOOK=${2:?--fault-hook needs a value}; shift 2 ;;
	--validate) VALIDATE_DIR=${2:?--validate needs a folder}; shift 2 ;;
	--sync-version)
		SYNC_VERSION=${2:?--sync-version needs 1.0 or 1.1}
		case "$SYNC_VERSION" in 1.0 | 1.1) ;; *) echo "sync-api.sh: --sync-version: 1.0 or 1.1" >&2; exit 2 ;; esac
		shift 2
		;;
	--verbose) VERBOSE=true; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "sync-api.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ -z "$URL" ] || [ -z "$KIOSK" ] || [ -z "$TOKEN_FILE" ]; then
	echo "sync-api.sh: --url, --kiosk and --token-file are required" >&2
	usage >&2
	exit 2
fi
if { [ -n "$OTHER_KIOSK" ] && [ -z "$OTHER_TOKEN_FILE" ]; } ||
	{ [ -z "$OTHER_KIOSK" ] && [ -n "$OTHER_TOKEN_FILE" ]; }; then
	echo "sync-api.sh: --other-kiosk and --other-token-file go together" >&2
	exit 2
fi
for tool in curl jq; do
	command -v "$tool" >/dev/null ||
		{ echo "sync-api.sh: $tool is needed" >&2; exit 2; }
done
URL=${URL%/}
export ITEM
case "$URL" in
https://*) ;;
*) echo "sync-api.sh: the API is HTTPS only: $URL" >&2; exit 2 ;;
esac

if [ -n "$VALIDATE_DIR" ]; then
	# shellcheck source=tests/conformance/node-deps.sh
	. "$(dirname "$0")/node-deps.sh"
	conformance_node_deps "$VALIDATE_DIR"
fi

WORK=$(mktemp -d /tmp/lokerbuku-sync-api.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
umask 077

# The tokens go to curl in header files, never on its command line.
auth_file() { # TOKEN_FILE OUT
	local token
	token=$(tr -d '\r\n' <"$1")
	printf 'Authorization: Bearer %s\n' "$token" >"$2"
}
auth_file "$TOKEN_FILE" "$WORK/auth"
[ -n "$OTHER_TOKEN_FILE" ] && auth_file "$OTHER_TOKEN_FILE" "$WORK/auth-other"
printf 'Authorization: Bearer %s\n' \
	"$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$WORK/auth-wrong"
printf 'Authorization: Basic %s\n' "$(printf 'kiosk:secret' | base64)" \
	>"$WORK/auth-basic"

CURL=(curl -sS --connect-timeout 10 --max-time 30 -A lokerbuku-conformance/1
	-H 'Accept: application/json')
[ -n "$CACERT" ] && CURL+=(--cacert "$CACERT")
[ "$SYNC_VERSION" = 1.1 ] && CURL+=(-H 'Lokerbuku-Sync: 1.1')
K=$URL/kiosks/$KIOSK

# ---- output ----

N=0 FAILED=0 SKIPPED=0
pass() {
	N=$((N + 1))
	echo "ok - $1"
}
skip() {
	N=$((N + 1)) SKIPPED=$((SKIPPED + 1))
	echo "ok - $1 # SKIP $2"
}
# fail DESC [REPLY-NAME] DETAIL...
fail() {
	local desc=$1 name=${2:-} line
	N=$((N + 1)) FAILED=$((FAILED + 1))
	echo "not ok - $desc"
	shift 2 || shift $#
	for line in "$@"; do
		[ -n "$line" ] && echo "#   $line"
	done
	if [ -n "$name" ] && [ -f "$WORK/$name.body" ] && ! $VERBOSE; then
		echo "#   reply: HTTP $(cat "$WORK/$name.status")," \
			"$(head -c 400 "$WORK/$name.body" | tr -d '\r' | tr '\n' ' ')"
	fi
}
# check DESC REPLY-NAME PROBLEM...: passes when there is no problem.
check() {
	local desc=$1 name=$2 p
	shift 2
	local problems=()
	for p in "$@"; do
		[ -n "$p" ] && problems+=("$p")
	done
	if [ ${#problems[@]} -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc" "$name" "${problems[@]}"
	fi
}

# ---- requests ----

NO_STORE_MISSING=() JSON_TYPE_MISSING=() SYNC_MISSING=() REPLIES=0

# req NAME METHOD URL [BODY-FILE] [AUTH-FILE, or - for none]: one request.
# Leaves WORK/NAME.{status,headers,body}; STATUS is the HTTP status, 000
# when there was no reply.
req() {
	local name=$1 method=$2 url=$3 body=${4:-} auth=${5:-$WORK/auth}
	local args=(-o "$WORK/$name.body" -D "$WORK/$name.headers"
		-w '%{http_code}' -X "$method")
	[ "$auth" != - ] && args+=(-H "@$auth")
	[ -n "$body" ] &&
		args+=(-H 'Content-Type: application/json' --data-binary "@$body")
	: >"$WORK/$name.body"
	: >"$WORK/$name.headers"
	STATUS=$("${CURL[@]}" "${args[@]}" "$url" 2>"$WORK/$name.err") ||
		STATUS=000
	[ -n "$STATUS" ] || STATUS=000
	echo "$STATUS" >"$WORK/$name.status"
	if $VERBOSE; then
		echo "# $method $url -> $STATUS"
		[ -s "$WORK/$name.body" ] &&
			echo "# $(head -c 2000 "$WORK/$name.body" | tr '\n' ' ')"
	fi
	if [ "$STATUS" != 000 ]; then
		REPLIES=$((REPLIES + 1))
		[ -n "$VALIDATE_DIR" ] && record "$name" "$method" "$url"
		header "$name" Cache-Control | grep -qi 'no-store' ||
			NO_STORE_MISSING+=("$method ${url#"$URL"} ($STATUS)")
		header "$name" Content-Type | grep -qi '^application/json' ||
			JSON_TYPE_MISSING+=("$method ${url#"$URL"} ($STATUS)")
		header "$name" Lokerbuku-Sync | grep -qE '^1\.[0-9]+$' ||
			SYNC_MISSING+=("$method ${url#"$URL"} ($STATUS)")
	fi
}

# record NAME METHOD URL: the exchange as a line of WORK/wire.jsonl, for
# validate.mjs: the reply's status, headers (of the last header block) and
# body.
record() {
	tr -d '\r' <"$WORK/$1.headers" |
		awk '/^HTTP\// { n = 0; delete h; next }
		     { i = index($0, ":"); if (i) h[++n] = $0 }
		     END { for (j = 1; j <= n; j++) print h[j] }' |
		jq -cRn --arg method "$2" --arg url "$3" \
			--argjson status "$STATUS" --rawfile body "$WORK/$1.body" '
			{method: $method, url: $url, status: $status,
			 resHeaders: ([inputs | capture("^(?<k>[^:]+):[ \t]*(?<v>.*)$")
				| {key: (.k | ascii_downcase), value: .v}] | from_entries),
			 resBody: $body}' >>"$WORK/wire.jsonl"
}

# header NAME FIELD: the value of a reply header (last one), or nothing.
header() {
	tr -d '\r' <"$WORK/$1.headers" |
		awk -v f="$(echo "$2" | tr 'A-Z' 'a-z')" '
			{ i = index($0, ":"); if (!i) next
			  n = tolower(substr($0, 1, i - 1))
			  if (n == f) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v) } }
			END { if (v != "") print v }'
}

# body_file NAME TEXT: a request body in WORK/NAME.json; prints its path.
body_file() {
	printf '%s' "$2" >"$WORK/$1.json"
	echo "$WORK/$1.json"
}

uri() { jq -rn --arg s "$1" '$s | @uri'; }

uuid() {
	if [ -r /proc/sys/kernel/random/uuid ]; then
		cat /proc/sys/kernel/random/uuid
	else
		od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
			sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12})$/\1-\2-4\3-a\4-\5/'
	fi
}

# Event sequence numbers: large, and increasing from run to run.
SEQ=$(($(date +%s) * 1000))
next_seq() { SEQ=$((SEQ + 1)); }

NOW=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
# event VAR ID TYPE PAYLOAD: one event as JSON into VAR, with the next seq.
event() {
	next_seq
	printf -v "$1" '%s' "$(jq -cn --arg id "$2" --arg type "$3" \
		--argjson payload "$4" --argjson seq "$SEQ" --arg at "$NOW" \
		'{id: $id, seq: $seq, type: $type, at: $at, payload: $payload}')"
}
# events_body NAME EVENT...: {"events": [...]} in a file; prints its path.
events_body() {
	local name=$1
	shift
	printf '%s\n' "$@" | jq -cs '{events: .}' >"$WORK/$name.json"
	echo "$WORK/$name.json"
}

# ---- what replies must look like ----

JQ_DEFS='
def tok($max): type == "string" and length >= 1 and length <= $max
	and test("^[!-~]+$");
def hmac: type == "string" and test("^[0-9a-f]{64}$");
def time: type == "string" and
	test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?Z$");
def text($max): type == "string" and utf8bytelength <= $max
	and (test("[\\x00-\\x1f\\x7f]") | not);
def opt(f): . == null or f;
def int: type == "number" and . == floor;
# Either form (docs/sync-api.md, "PIN hashes"), 1 to 2,000,000 in all.
def pinhash: type == "string" and length <= 160
	and ((test("^pbkdf2-sha256[$][0-9]{1,8}[$]([0-9a-fA-F]{2}){8,64}[$][0-9a-fA-F]{64}$")
		and (split("$")[1] | tonumber | . >= 1 and . <= 2000000))
	or (test("^pbkdf2-sha256-2[$][0-9]{1,8}[$][0-9]{1,8}[$]([0-9a-fA-F]{2}){8,64}[$][0-9a-fA-F]{64}$")
		and (split("$") | (.[1] | tonumber) >= 1 and (.[2] | tonumber) >= 1
			and (.[1] | tonumber) + (.[2] | tonumber) <= 2000000)));
def uuid: type == "string"
	and test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
def need(f; $what): if f then empty else $what end;
def hold_problems($p):
	if type != "object" then "\($p): not an object" else
	need(.id | tok(63); "\($p).id: not 1 to 63 printable ASCII"),
	need(.size | IN("small", "medium", "large"); "\($p).size: not small, medium or large"),
	need(.patron_name | opt(text(47)); "\($p).patron_name: over 47 bytes or control codes"),
	need(.credentials | type == "array" and length >= 1 and length <= 4 and all(.[]; hmac);
		"\($p).credentials: not 1 to 4 64-hex-digit HMACs"),
	need(.code | opt(hmac); "\($p).code: not null or a 64-hex-digit HMAC"),
	need(.pin | opt(pinhash); "\($p).pin: not null or a pbkdf2-sha256 PIN hash"),
	need(.expires_at | opt(time); "\($p).expires_at: not null or an RFC 3339 UTC time"),
	(if (.items | type == "array" and length >= 1 and length <= 16) | not then
		"\($p).items: not an array of 1 to 16 items"
	 else
		.items | to_entries[] | .key as $i | .value |
		if type != "object" then "\($p).items[\($i)]: not an object" else
		need(.barcode | tok(63); "\($p).items[\($i)].barcode: not 1 to 63 printable ASCII"),
		need(.title | opt(text(255)); "\($p).items[\($i)].title: over 255 bytes or control codes")
		end
	 end)
	end;
def staff_problems($p):
	if type != "object" then "\($p): not an object" else
	need(.credential | hmac; "\($p).credential: not a 64-hex-digit HMAC"),
	need(.pin | pinhash; "\($p).pin: not a pbkdf2-sha256 PIN hash (required for staff)"),
	need(.role | opt(IN("staff", "admin")); "\($p).role: not staff or admin")
	end;
def changes_problems($limit):
	if type != "object" then "reply: not a JSON object" else
	need(.cursor | tok(255); "cursor: not 1 to 255 printable ASCII"),
	need(.more | type == "boolean"; "more: not a boolean"),
	need(.full | type == "boolean"; "full: not a boolean"),
	need(.holds | type == "array"; "holds: not an array"),
	need(.removed_holds | type == "array"; "removed_holds: not an array"),
	need(.staff | type == "array"; "staff: not an array"),
	need(.removed_staff | type == "array"; "removed_staff: not an array"),
	need(.holds | type != "array" or length <= $limit; "holds: more than limit (\($limit))"),
	need(.removed_holds | type != "array" or (length <= 10000 and all(.[]; tok(63)));
		"removed_holds: over 10000 or not hold ids"),
	need(.staff | type != "array" or length <= 1000; "staff: over 1000"),
	need(.removed_staff | type != "array" or (length <= 10000 and all(.[]; hmac));
		"removed_staff: over 10000 or not HMACs"),
	need(.settings | opt(type == "object"
		and (.pin_required | opt(type == "boolean"))
		and (.hold_window_days | opt(int and . >= 1))); "settings: wrong types"),
	(if .holds | type == "array" then
		(.holds | to_entries[] | .key as $i | .value | hold_problems("holds[\($i)]")),
		need([.holds[] | .id?] | length == (unique | length); "holds: a hold id twice"),
		need([.holds[] | .id?] as $h | (.removed_holds // []) as $r
			| ($h - $r | length) == ($h | length);
			"a hold id in both holds and removed_holds")
	 else empty end),
	(if .staff | type == "array" then
		.staff | to_entries[] | .key as $i | .value | staff_problems("staff[\($i)]")
	 else empty end)
	end;
def command_problems($p):
	if type != "object" then "\($p): not an object" else
	need(.id | tok(63); "\($p).id: not 1 to 63 printable ASCII"),
	need(.type | type == "string" and length > 0; "\($p).type: not a string"),
	need(.reason | opt(text(127)); "\($p).reason: over 127 bytes or control codes"),
	(if .type | IN("open_locker", "disable_locker", "enable_locker") then
		need(.locker | int and . >= 1 and . <= 128; "\($p).locker: not 1 to 128")
	 elif .type == "unload_hold" then
		need(.hold_id | tok(63); "\($p).hold_id: not a hold id")
	 else empty end)
	end;
def status_problems:
	if type != "object" then "reply: not a JSON object" else
	need(.server_time | time; "server_time: not an RFC 3339 UTC time"),
	need(.next_status_s | opt(int and . >= 10 and . <= 3600); "next_status_s: not 10 to 3600"),
	need(.commands | type == "array" and length <= 32; "commands: not an array of at most 32"),
	(if .commands | type == "array" then
		.commands | to_entries[] | .key as $i | .value | command_problems("commands[\($i)]")
	 else empty end)
	end;
def error_problems($code):
	if type != "object" or (.error | type) != "object" then
		"body: not {\"error\": {\"code\": ..., \"message\": ...}}"
	else
	need(.error.code == $code; "error.code: \(.error.code | tojson), not \($code | tojson)"),
	need(.error.message | opt(text(127)); "error.message: over 127 bytes or control codes")
	end;
'

# problems NAME FILTER: the problems FILTER finds in the reply body, one a
# line (a body that is not JSON is one problem).
problems() {
	if ! jq -e . "$WORK/$1.body" >/dev/null 2>&1; then
		echo "body: not JSON"
		return
	fi
	jq -r "$JQ_DEFS $2" "$WORK/$1.body" 2>&1 | head -n 8
}

# jqr NAME FILTER: FILTER on the reply body, raw, nothing when not JSON.
jqr() {
	jq -r "$JQ_DEFS $2" "$WORK/$1.body" 2>/dev/null || true
}

status_is() { # NAME EXPECTED...
	local name=$1 s
	s=$(cat "$WORK/$name.status")
	shift
	for e in "$@"; do
		[ "$s" = "$e" ] && return 0
	done
	echo "status: $s, not $*"
}

# check_error DESC NAME STATUS CODE: an error reply of the API's form.
check_error() {
	local p
	mapfile -t p < <(status_is "$2" "$3"; problems "$2" "error_problems(\"$4\")")
	check "$1" "$2" "${p[@]}"
}

retry_after_problem() { # NAME
	local v
	v=$(header "$1" Retry-After)
	if [ -z "$v" ]; then
		echo "no Retry-After header"
	elif ! [[ $v =~ ^[0-9]+$ ]] && ! date -d "$v" +%s >/dev/null 2>&1; then
		echo "Retry-After: \"$v\" is neither seconds nor an HTTP date"
	fi
}

# ---- 0. is anyone there ----

echo "# Locker Sync API v1 conformance: $URL, kiosk $KIOSK"
req reach GET "$K/changes?limit=1"
if [ "$STATUS" = 000 ]; then
	echo "Bail out! no reply from $K/changes: $(head -c 300 "$WORK/reach.err")"
	exit 2
fi

# ---- 1. authentication ----

req noauth GET "$K/changes" "" -
check_error "changes without a token: 401 unauthorized" noauth 401 unauthorized
mapfile -t p < <(header noauth WWW-Authenticate | grep -qi '^bearer' ||
	echo "no WWW-Authenticate: Bearer with the 401")
check "a 401 names the scheme: WWW-Authenticate: Bearer" noauth "${p[@]}"
req wrongauth GET "$K/changes" "" "$WORK/auth-wrong"
check_error "changes with a wrong token: 401 unauthorized" wrongauth 401 unauthorized
req basic GET "$K/changes" "" "$WORK/auth-basic"
check_error "Basic instead of Bearer: 401 unauthorized" basic 401 unauthorized
req noauth404 GET "$K/no-such-endpoint" "" -
mapfile -t p < <(status_is noauth404 404 401
	case $(cat "$WORK/noauth404.status") in
	404) problems noauth404 'error_problems("not_found")' ;;
	401) problems noauth404 'error_problems("unauthorized")' ;;
	esac)
check "an unknown endpoint without a token: 404 not_found (or 401 unauthorized)" \
	noauth404 "${p[@]}"
req noauthpost POST "$K/events" "$(body_file x '{"events":[]}')" -
check_error "events without a token: 401 unauthorized" noauthpost 401 unauthorized
if [ -n "$OTHER_KIOSK" ]; then
	req cross GET "$URL/kiosks/$OTHER_KIOSK/changes" ""
	check_error "this kiosk's token on the other kiosk's path: 403 forbidden" \
		cross 403 forbidden
	req cross2 POST "$K/status" "$(body_file x '{}')" "$WORK/auth-other"
	check_error "the other kiosk's token on this kiosk's status: 403 forbidden" \
		cross2 403 forbidden
else
	skip "a token on another kiosk's path: 403 forbidden" \
		"no --other-kiosk given"
fi
req nokiosk GET "$URL/kiosks/no-such-kiosk-$RANDOM$RANDOM/changes" ""
check_error "a valid token on an unknown kiosk's path: 403 forbidden" \
	nokiosk 403 forbidden

# ---- 2. unknown paths and methods ----

req unknown GET "$K/no-such-endpoint" ""
check_error "an unknown endpoint: 404 not_found" unknown 404 not_found
req unknown2 GET "$URL/no-such-path" ""
check_error "a path outside /kiosks: 404 not_found" unknown2 404 not_found
req method GET "$K/events" ""
mapfile -t p < <(status_is method 405 404
	problems method '.error.code | need(IN("method_not_allowed", "not_found"); "error.code: \(tojson)")')
check "GET on events: an error body, 405 method_not_allowed (or 404)" method "${p[@]}"

# ---- 3. changes ----

FULL_IDS=() FINAL_CURSOR='' FULL_OK=false
req full GET "$K/changes" ""
mapfile -t p < <(status_is full 200; problems full 'changes_problems(200)')
check "changes without a cursor: 200, a valid reply (default limit 200)" full "${p[@]}"
if [ "$(jqr full .full)" = true ]; then
	pass "changes without a cursor: full is true"
else
	fail "changes without a cursor: full is true" full "full: $(jqr full .full)"
fi

# Follows more to the end of the full set.
if [ "$STATUS" = 200 ] && [ "$(jqr full '.cursor | tok(255)')" = true ]; then
	pages=1 problems_seen=()
	mapfile -t FULL_IDS < <(jqr full '.holds[]?.id')
	cursor=$(jqr full .cursor)
	more=$(jqr full .more)
	while [ "$more" = true ] && [ $pages -lt 2000 ]; do
		req page GET "$K/changes?cursor=$(uri "$cursor")" ""
		pages=$((pages + 1))
		mapfile -t p < <(status_is page 200; problems page 'changes_problems(200)')
		if [ ${#p[@]} -gt 0 ]; then
			problems_seen+=("page $pages (cursor $cursor):" "${p[@]}")
			break
		fi
		mapfile -t -O ${#FULL_IDS[@]} FULL_IDS < <(jqr page '.holds[]?.id')
		cursor=$(jqr page .cursor)
		more=$(jqr page .more)
	done
	[ "$more" = true ] && problems_seen+=("still more after $pages pages")
	dups=$(printf '%s\n' "${FULL_IDS[@]}" | sed '/^$/d' | sort | uniq -d | head -n 3)
	[ -n "$dups" ] && problems_seen+=("holds listed twice in one full set: $dups")
	check "changes: more followed to the end ($pages pages, ${#FULL_IDS[@]} holds), every page valid" \
		page "${problems_seen[@]}"
	if [ ${#problems_seen[@]} -eq 0 ]; then
		FINAL_CURSOR=$cursor
		FULL_OK=true
	fi
else
	skip "changes: more followed to the end" "the first page was not valid"
fi

if $FULL_OK; then
	for round in 1 2; do
		req delta GET "$K/changes?cursor=$(uri "$FINAL_CURSOR")" ""
		mapfile -t p < <(status_is delta 200; problems delta 'changes_problems(200)'
			[ "$(jqr delta .full)" = false ] || echo "full: $(jqr delta .full), not false"
			mapfile -t again < <(jqr delta '.holds[]?.id')
			for id in "${again[@]}"; do
				printf '%s\n' "${FULL_IDS[@]}" | grep -qxF -- "$id" &&
					echo "hold $id sent again, unchanged"
			done)
		if [ $round = 1 ]; then
			check "changes with the last cursor: full false, no unchanged hold again" delta "${p[@]}"
		else
			check "the same cursor once more: the same answer" delta "${p[@]}"
		fi
	done
else
	skip "changes with the last cursor: full false, no unchanged hold again" \
		"no valid full set"
fi

req garbage GET "$K/changes?cursor=$(uri x:garbage-cursor)" ""
mapfile -t p < <(status_is garbage 200; problems garbage 'changes_problems(200)'
	[ "$(jqr garbage .full)" = true ] || echo "full: $(jqr garbage .full), not true")
check "changes with an unknown cursor: 200 and full true" garbage "${p[@]}"
req emptycursor GET "$K/changes?cursor=" ""
mapfile -t p < <(status_is emptycursor 200
	[ "$(jqr emptycursor .full)" = true ] || echo "full: $(jqr emptycursor .full), not true")
check "changes with an empty cursor: as none, full true" emptycursor "${p[@]}"

for bad in 0 1001 -1 abc; do
	req limit GET "$K/changes?limit=$bad" ""
	check_error "changes with limit=$bad: 400 bad_request" limit 400 bad_request
done
req limit1000 GET "$K/changes?limit=1000" ""
mapfile -t p < <(status_is limit1000 200; problems limit1000 'changes_problems(1000)')
check "changes with limit=1000: 200, a valid reply" limit1000 "${p[@]}"

if $FULL_OK && [ ${#FULL_IDS[@]} -ge 2 ]; then
	req one GET "$K/changes?limit=1" ""
	paged=() problems_seen=() pages=1
	mapfile -t p < <(status_is one 200; problems one 'changes_problems(1)'
		[ "$(jqr one .more)" = true ] || echo "more: $(jqr one .more) with 1 of ${#FULL_IDS[@]} holds")
	problems_seen+=("${p[@]}")
	mapfile -t paged < <(jqr one '.holds[]?.id')
	cursor=$(jqr one .cursor)
	more=$(jqr one .more)
	while [ ${#problems_seen[@]} -eq 0 ] && [ "$more" = true ] && [ $pages -lt 2100 ]; do
		req one GET "$K/changes?limit=1&cursor=$(uri "$cursor")" ""
		pages=$((pages + 1))
		mapfile -t p < <(status_is one 200; problems one 'changes_problems(1)')
		problems_seen+=("${p[@]}")
		mapfile -t -O ${#paged[@]} paged < <(jqr one '.holds[]?.id')
		cursor=$(jqr one .cursor)
		more=$(jqr one .more)
	done
	if [ ${#problems_seen[@]} -eq 0 ]; then
		want=$(printf '%s\n' "${FULL_IDS[@]}" | sort -u)
		got=$(printf '%s\n' "${paged[@]}" | sed '/^$/d' | sort -u)
		[ "$want" = "$got" ] ||
			problems_seen+=("limit=1 pages gave holds {$(echo $got)}, the full set {$(echo $want)}")
	fi
	check "changes with limit=1: one hold a page, more until all ${#FULL_IDS[@]} came" \
		one "${problems_seen[@]}"
else
	skip "changes with limit=1: one hold a page" \
		"needs a full set of at least 2 holds (has ${#FULL_IDS[@]})"
fi

# ---- 4. item lookup ----

req noitem GET "$K/items/NO-SUCH-ITEM-$RANDOM$RANDOM" ""
check_error "item lookup of an unknown barcode: 404 not_found" noitem 404 not_found
req noitem2 GET "$K/items/$(uri "NO/SUCH?ITEM $RANDOM")" ""
check_error "item lookup of an unknown barcode with / ? and a blank, percent-encoded: 404 not_found" \
	noitem2 404 not_found
if [ -n "$ITEM" ]; then
	req item GET "$K/items/$(uri "$ITEM")" ""
	mapfile -t p < <(status_is item 200
		problems item "if type == \"object\" then (.hold | hold_problems(\"hold\")),
			need([.hold.items[]?.barcode] | index([\$ENV.ITEM]); \"hold.items: no $ITEM\")
			else \"reply: not a JSON object\" end")
	check "item lookup of --item $ITEM: 200 with a valid hold holding it" item "${p[@]}"
	if $FULL_OK; then
		id=$(jqr item .hold.id)
		if printf '%s\n' "${FULL_IDS[@]}" | grep -qxF -- "$id"; then
			pass "the --item hold $id is in the full set of changes"
		else
			fail "the --item hold $id is in the full set of changes" ""
		fi
	fi
else
	skip "item lookup of a routed item: 200 with its hold" "no --item given"
fi

# v1.1: the lookup with the barcode in the body, for a server that says
# it speaks 1.1; asked as a v1.1 kiosk asks.
SERVER_MINOR=$(header reach Lokerbuku-Sync | sed -nE 's/^1\.([0-9]+)$/\1/p')
if [ "$SYNC_VERSION" = 1.0 ]; then
	skip "v1.1 POST items/lookup" "asking as a kiosk of v1.0"
elif [ "${SERVER_MINOR:-0}" -ge 1 ]; then
	[ "$SYNC_VERSION" = 1.1 ] || CURL+=(-H 'Lokerbuku-Sync: 1.1')
	req lookup-none POST "$K/items/lookup" \
		"$(body_file lookup-none "{\"barcode\":\"NO-SUCH-ITEM-$RANDOM\"}")"
	check_error "v1.1 POST items/lookup of an unknown barcode: 404 not_found" \
		lookup-none 404 not_found
	req lookup-bad POST "$K/items/lookup" "$(body_file lookup-bad '{"barcode":""}')"
	check_error "v1.1 POST items/lookup without a barcode: 400 bad_request" \
		lookup-bad 400 bad_request
	if [ -n "$ITEM" ]; then
		req lookup POST "$K/items/lookup" \
			"$(body_file lookup "$(jq -cn '{barcode: $ENV.ITEM}')")"
		mapfile -t p < <(status_is lookup 200
			problems lookup "if type == \"object\" then (.hold | hold_problems(\"hold\")),
				need([.hold.items[]?.barcode] | index([\$ENV.ITEM]); \"hold.items: no $ITEM\")
				else \"reply: not a JSON object\" end")
		check "v1.1 POST items/lookup of --item $ITEM: 200 with a valid hold holding it" \
			lookup "${p[@]}"
	fi
	mapfile -t p < <(grep -q -- "NO-SUCH-ITEM" "$WORK/lookup-none.body" &&
		echo "the 404's message repeats the scanned text")
	check "v1.1 lookup: the reply does not repeat the scanned text" lookup-none "${p[@]}"
else
	skip "v1.1 POST items/lookup" "the server does not say Lokerbuku-Sync: 1.1"
fi

# ---- 5. events ----

# results NAME: "id status reason" lines of an events reply.
results() {
	jqr "$1" '.results[]? | "\(.id) \(.status) \(.reason // "")"'
}
result_of() { # NAME ID: "status reason"
	results "$1" | awk -v id="$2" '$1 == id { $1 = ""; sub(/^ /, ""); print; exit }'
}
# check_results DESC NAME ID=STATUS[:REASON]...
check_results() {
	local desc=$1 name=$2 want id st reason got
	shift 2
	local p=()
	mapfile -t p < <(status_is "$name" 200
		problems "$name" 'if type != "object" or (.results | type) != "array" then "results: not an array"
			else .results | to_entries[] | .key as $i | .value |
			need(.id | uuid; "results[\($i)].id: not a lower-case UUID"),
			need(.status | IN("accepted", "duplicate", "rejected"); "results[\($i)].status: \(.status | tojson)"),
			need(.reason | opt(text(127)); "results[\($i)].reason: over 127 bytes or control codes"),
			need(.status != "rejected" or (.reason | type == "string" and length > 0); "results[\($i)]: rejected without a reason")
			end')
	for want in "$@"; do
		id=${want%%=*} st=${want#*=} reason=
		[[ $st == *:* ]] && reason=${st#*:} st=${st%%:*}
		got=$(result_of "$name" "$id")
		if [ -z "$got" ]; then
			p+=("no result for $id")
		elif [ "${got%% *}" != "$st" ]; then
			p+=("$id: $got, not $st")
		elif [ -n "$reason" ] && [[ ${got#* } != "$reason"* ]]; then
			p+=("$id: reason \"${got#* }\", not $reason")
		fi
	done
	check "$desc" "$name" "${p[@]}"
}

E1=$(uuid) E2=$(uuid) ev1='' ev2='' e=''
event ev1 "$E1" door_closed '{"locker":1}'
req ev POST "$K/events" "$(events_body ev "$ev1")"
check_results "events: a new door_closed is accepted" ev "$E1=accepted"
req ev POST "$K/events" "$(events_body ev "$ev1")"
check_results "events: the same event again is a duplicate" ev "$E1=duplicate"
event ev2 "$E2" door_closed '{"locker":1}'
req ev POST "$K/events" "$(events_body ev "$ev1" "$ev2")"
check_results "events: a batch of that one and a new one: duplicate and accepted" ev \
	"$E1=duplicate" "$E2=accepted"

E3=$(uuid)
event e "$E3" conformance_unknown_type '{"locker":1,"note":"a type from a newer kiosk"}'
req ev POST "$K/events" "$(events_body ev "$e")"
check_results "events: a type the server does not know is accepted" ev "$E3=accepted"

E4=$(uuid)
event e "$E4" hold_picked_up "{\"hold_id\":\"conformance-no-such-hold-$RANDOM$RANDOM\",\"locker\":1,\"items\":[{\"barcode\":\"NO-SUCH-ITEM\"}],\"actor\":\"service\"}"
req ev POST "$K/events" "$(events_body ev "$e")"
check_results "events: hold_picked_up of an unknown hold is rejected unknown_hold" ev \
	"$E4=rejected:unknown_hold"

E5=$(uuid)
event e "$E5" hold_picked_up '{"locker":1,"actor":"service"}'
req ev POST "$K/events" "$(events_body ev "$e")"
check_results "events: hold_picked_up without hold_id is rejected invalid" ev \
	"$E5=rejected:invalid"

E6=$(uuid) E7=$(uuid)
next_seq
event e "$E7" door_closed '{"locker":1}'
req ev POST "$K/events" "$(events_body ev \
	"{\"id\":\"$E6\",\"seq\":$((SEQ - 1)),\"payload\":{\"locker\":1}}" \
	"$(jq -c '.at = "yesterday"' <<<"$e")")"
check_results "events: missing type and at, or at not a time: each rejected invalid" ev \
	"$E6=rejected:invalid" "$E7=rejected:invalid"

E8=$(uuid)
event e "$E8" door_closed '{"locker":1}'
req ev POST "$K/events" "$(events_body ev "$(jq -c '.payload = [1]' <<<"$e")")"
check_results "events: a payload that is not an object is rejected invalid" ev "$E8=rejected:invalid"

E9=$(uuid)
event e "$E9" door_closed '{"locker":1}'
req ev POST "$K/events" "$(events_body ev "$e" "$e")"
check_results "events: the same new id twice in one batch: applied once" ev "$E9=accepted"
req ev POST "$K/events" "$(events_body ev "$e")"
check_results "events: ... and a duplicate after" ev "$E9=duplicate"

event e not-a-uuid door_closed '{"locker":1}'
req bad POST "$K/events" "$(events_body bad "$e")"
check_error "events: an event whose id is not a UUID: 422 invalid" bad 422 invalid
event e "$(uuid | tr a-f A-F)" door_closed '{"locker":1}'
req bad POST "$K/events" "$(events_body bad "$e")"
check_error "events: an upper-case UUID: 422 invalid" bad 422 invalid
event e "$(uuid)" door_closed '{"locker":1}'
req bad POST "$K/events" "$(events_body bad "$(jq -c 'del(.id)' <<<"$e")")"
check_error "events: an event without an id: 422 invalid" bad 422 invalid
req bad POST "$K/events" "$(body_file bad '{"events": [{"id": ')"
check_error "events: a body that is not JSON: 400 bad_request" bad 400 bad_request
req bad POST "$K/events" "$(body_file bad '[]')"
check_error "events: a body that is not an object: 400 bad_request" bad 400 bad_request
req bad POST "$K/events" "$(body_file bad '{"events": []}')"
check_error "events: an empty batch: 400 bad_request" bad 400 bad_request
req bad POST "$K/events" "$(body_file bad '{"events": {}}')"
check_error "events: events not an array: 400 bad_request" bad 400 bad_request
req bad POST "$K/events" "$(body_file bad '{"events": [1]}')"
check_error "events: an event that is not an object: 422 invalid" bad 422 invalid

# 501 events: too many; none of them may be stored.
for _ in $(seq 501); do uuid; done |
	jq -cRs --argjson seq "$SEQ" --arg at "$NOW" '
		split("\n") | map(select(length > 0)) | to_entries
		| map({id: .value, seq: ($seq + .key + 1), type: "door_closed",
		       at: $at, payload: {locker: 1}})
		| {events: .}' >"$WORK/big.json"
SEQ=$((SEQ + 501))
first=$(jq -r '.events[0].id' "$WORK/big.json")
req big POST "$K/events" "$WORK/big.json"
check_error "events: 501 events: 413 too_large" big 413 too_large
req ev POST "$K/events" "$(events_body ev "$(jq -c '.events[0]' "$WORK/big.json")")"
check_results "events: nothing of a refused batch was stored (its first event is new)" ev \
	"$first=accepted"

# ---- 6. status ----

status_json() { # DONE-ID
	jq -cn --arg at "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" --arg k "$KIOSK" --arg done_id "$1" '{
		at: $at, kiosk_id: $k, version: "0.0.0-conformance", uptime_s: 5,
		in_service: true, backlog: 0, rejected_events: 0, active_holds: 0,
		reader: {backend: "sim", ok: true}, lockbank: {backend: "sim"},
		scanner: null,
		lockers: [
			{number: 1, size: "small", kind: "hold", door: "closed",
			 state: "closed", purpose: "none", disabled: false,
			 fault: "none", alarm_left_open: false,
			 alarm_forced_open: false, returns: 0},
			{number: 2, size: "large", kind: "return", door: "closed",
			 state: "closed", purpose: "none", disabled: false,
			 fault: "none", alarm_left_open: false,
			 alarm_forced_open: false, returns: 0}],
		faults: [], done_commands: [$done_id]}'
}
status_json "conformance-unknown-command-$RANDOM" >"$WORK/status.json"
req status POST "$K/status" "$WORK/status.json"
mapfile -t p < <(status_is status 200; problems status 'status_problems')
check "status: a full heartbeat (acknowledging an unknown command id): 200, server_time, valid commands" \
	status "${p[@]}"
req status2 POST "$K/status" "$(body_file status2 \
	'{"at":"2026-11-22T08:16:00Z","lockers":"many","backlog":"none","x_from_a_newer_kiosk":{"a":[1,2]},"done_commands":[]}')"
mapfile -t p < <(status_is status2 200; problems status2 'status_problems')
check "status: unknown fields and fields of odd types are ignored: 200" status2 "${p[@]}"
req bad POST "$K/status" "$(body_file bad '{"at": "2026-')"
check_error "status: a body that is not JSON: 400 bad_request" bad 400 bad_request
req bad POST "$K/status" "$(body_file bad '[1, 2]')"
check_error "status: a body that is not an object: 400 bad_request" bad 400 bad_request

# ---- 7. headers and the connection ----

# first_of N LINE...: the first N lines, and how many more there were.
first_of() {
	local n=$1
	shift
	printf '%s\n' "${@:1:n}"
	[ $# -le "$n" ] || echo "... and $(($# - n)) more"
}
mapfile -t p < <(first_of 6 "${JSON_TYPE_MISSING[@]/#/missing: }")
check "every reply had Content-Type: application/json ($REPLIES replies)" "" "${p[@]}"
mapfile -t p < <(first_of 6 "${NO_STORE_MISSING[@]/#/missing: }")
check "every reply had Cache-Control: no-store ($REPLIES replies)" "" "${p[@]}"
if [ "$SYNC_VERSION" = 1.1 ]; then
	# A server of v1.1 says so on every reply, errors included.
	mapfile -t p < <(first_of 6 "${SYNC_MISSING[@]/#/missing: }")
	check "v1.1: every reply said Lokerbuku-Sync: 1.<minor> ($REPLIES replies)" "" "${p[@]}"
fi

connects=$("${CURL[@]}" -H "@$WORK/auth" -o /dev/null -o /dev/null \
	-w '%{num_connects}\n' "$K/changes?limit=1" "$K/items/NO-SUCH-ITEM" \
	2>"$WORK/ka.err" | awk '{ n += $1 } END { print n + 0 }') || connects=error
if [ "$connects" = 1 ]; then
	pass "keep-alive: two requests over one connection"
else
	fail "keep-alive: two requests over one connection" "" \
		"connections made: $connects $(head -c 200 "$WORK/ka.err")"
fi

# ---- 8. Retry-After, with the server's help ----

# fault_request ENDPOINT NAME: the request the fault is to hit.
fault_request() {
	case "$1" in
	changes) req "$2" GET "$K/changes?limit=1" "" ;;
	events)
		event e "$(uuid)" door_closed '{"locker":1}'
		req "$2" POST "$K/events" "$(events_body "$2" "$e")"
		;;
	status) req "$2" POST "$K/status" "$WORK/status.json" ;;
	items) req "$2" GET "$K/items/NO-SUCH-ITEM-$RANDOM" "" ;;
	esac
}

if [ -n "$HOOK" ]; then
	for kind in 503 429; do
		code=unavailable
		[ $kind = 429 ] && code=rate_limited
		for ep in changes events status items; do
			desc="$ep with a $kind: $kind $code with Retry-After"
			if ! out=$(bash -c "$HOOK \"\$@\"" fault-hook "$kind" "$ep" 2>&1); then
				fail "$desc" "" "the fault hook failed: $out"
				continue
			fi
			fault_request "$ep" fault
			mapfile -t p < <(status_is fault "$kind"
				problems fault "error_problems(\"$code\")"
				retry_after_problem fault)
			check "$desc" fault "${p[@]}"
			fault_request "$ep" after
			s=$(cat "$WORK/after.status")
			if [ "$s" = "$kind" ] || [ "$s" = 000 ]; then
				fail "$ep after the $kind: answered normally again" after
			else
				pass "$ep after the $kind: answered normally again"
			fi
		done
	done
else
	skip "Retry-After with 429 and 503" "no --fault-hook given"
fi

# ---- every reply against the OpenAPI file ----

if [ -n "$VALIDATE_DIR" ]; then
	SPEC=$(cd "$(dirname "$0")/../.." && pwd)/docs/sync-api.openapi.yaml
	if out=$("${VALIDATE[@]}" check --spec "$SPEC" "$WORK/wire.jsonl" 2>&1); then
		pass "every reply ($(wc -l <"$WORK/wire.jsonl")) validates against the OpenAPI file (ajv)"
	else
		mapfile -t p < <(grep -v '^#' <<<"$out" | sed 's/^not ok - //' | head -n 40)
		fail "every reply validates against the OpenAPI file (ajv)" "" "${p[@]}"
	fi
else
	skip "every reply against the OpenAPI file" "no --validate given"
fi

# ---- summary ----

echo "1..$N"
echo "# $N checks: $((N - FAILED - SKIPPED)) passed, $FAILED failed, $SKIPPED skipped"
[ $FAILED -eq 0 ]
