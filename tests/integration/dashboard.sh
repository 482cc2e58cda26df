#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The monitoring files of docs/monitoring/ (issue 24) against the real
# thing: promtool checks and unit-tests the alert rules; a real Prometheus
# (Debian's) scrapes a real lokerd syncing with lokerhub, loads the rules,
# answers every query of the Grafana dashboard without an error, with every
# metric the dashboard names present, and renders the console page, which
# Chromium photographs (BUILD/monitoring/console.png) when it is there.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
mon=$LOKERBUKU_TOP/docs/monitoring
build=$(cd "$BIN/.." && pwd)
for t in promtool prometheus; do
	command -v "$t" >/dev/null || fail "$t is missing: tools/bootstrap installs it (package prometheus)"
done

echo "promtool: the alert rules, and their unit tests"
promtool check rules "$mon/alerts.yml" >"$WORK/rules.out" 2>&1 ||
	fail "promtool refused the rules: $(cat "$WORK/rules.out")"
rules=$(sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p' "$WORK/rules.out")
promtool test rules "$mon/alerts.test.yml" >"$WORK/rules-test.out" 2>&1 ||
	fail "the alert rules' unit tests failed: $(cat "$WORK/rules-test.out")"
# Every alert of the rules has a unit test that expects it to fire.
for a in $(sed -n 's/^ *- alert: //p' "$mon/alerts.yml"); do
	grep -A2 "alertname: $a\$" "$mon/alerts.test.yml" | grep -q 'exp_labels' ||
		fail "alert $a has no unit test in alerts.test.yml"
done

echo "a real lokerd, syncing with lokerhub, with its metrics on loopback"
kiosk_write_config "$WORK" "
[metrics]
listen = 127.0.0.1:0"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
CLEANUP_HOOK=stop_all
stop_all() {
	[ -z "${PROM_PID:-}" ] || { kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; } || true
	hub_stop
}
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"
target=$(ctl --json status | jq -r .metrics.url | sed 's#^http://##; s#/metrics$##')
ctl sim tap uid:0BADC0FFEE0001 >/dev/null # a refusal, for its counter
ctl sim door 5 open >/dev/null             # forced open: an alarm
ctl sync >/dev/null

echo "Prometheus scrapes it every second, with the rules"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $mon/alerts.yml
scrape_configs:
  - job_name: lokerbuku
    static_configs:
      - targets: ['$target']
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
	--web.listen-address="127.0.0.1:$port" --web.console.templates="$mon" \
	--web.console.libraries="$mon" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
api=http://127.0.0.1:$port/api/v1
# q EXPR: the result array of an instant query; fails on an error.
q() {
	local r
	r=$(curl -sf --get --data-urlencode "query=$1" "$api/query") || return 1
	jq -e '.status == "success"' >/dev/null <<<"$r" || return 1
	jq -c '.data.result' <<<"$r"
}
scraped() { [ "$(q 'up{job="lokerbuku"} == 1' | jq length)" = 1 ] && [ "$(q lokerbuku_sync_up | jq length)" = 1 ]; }
for _ in $(seq 300); do scraped 2>/dev/null && break; sleep 0.1; done
scraped || fail "Prometheus did not scrape lokerd: $(tail -n 5 "$WORK/prometheus.log")"

echo "Prometheus loaded the $rules rules, every one healthy"
r=$(curl -sf "$api/rules")
expect "[.data.groups[].rules[] | select(.health == \"ok\")] | length == $rules" "$r"

echo "the door forced open on the real kiosk fires DoorForcedOpen"
firing() { [ "$(q 'ALERTS{alertname="DoorForcedOpen", alertstate="firing", locker="5"}' | jq length)" = 1 ]; }
for _ in $(seq 150); do firing && break; sleep 0.1; done
firing || fail "no DoorForcedOpen alert: $(q ALERTS)"

echo "every query of the Grafana dashboard answers, on metrics lokerd has"
n=0
while IFS= read -r expr; do
	q "$expr" >/dev/null || fail "Prometheus refused the dashboard's query: $expr"
	for m in $(grep -oE 'lokerbuku_[a-z_]+' <<<"$expr" | sort -u); do
		[ "$(q "count($m)" | jq length)" = 1 ] || fail "the dashboard asks for $m, which lokerd does not expose"
	done
	n=$((n + 1))
done < <(jq -r '.panels[].targets[].expr' "$mon/grafana-dashboard.json")
[ "$n" -ge 10 ] || fail "only $n queries in the dashboard"
echo "  $n queries"

echo "the console page renders the kiosk"
page=$(curl -sf "http://127.0.0.1:$port/consoles/lokerbuku.html") || fail "no console page"
grep -q '<td>demo-01</td>' <<<"$page" || fail "no row for demo-01 in the console page"
grep -qi 'error' <<<"$page" && fail "the console page shows an error: $(grep -i error <<<"$page" | head -3)"

# The picture of docs/monitoring.md, when a browser is there.
. "$LOKERBUKU_TOP/tests/lib/playwright.sh"
if (playwright_need "$build/fleet-node" >/dev/null 2>&1); then
	playwright_need "$build/fleet-node"
	mkdir -p "$build/monitoring"
	SHOT_URL="http://127.0.0.1:$port/consoles/lokerbuku.html" SHOT=$build/monitoring/console.png \
		node -e '
		const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
		const b = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
		const p = await b.newPage({ viewport: { width: 1280, height: 300 } });
		await p.goto(process.env.SHOT_URL);
		await p.screenshot({ path: process.env.SHOT, fullPage: true });
		await b.close();' --input-type=module || fail "Chromium could not photograph the console"
	echo "  screenshot: $build/monitoring/console.png"
else
	echo "## NO SCREENSHOT: Chromium or playwright-core is missing (the checks above ran)" >&2
fi
echo "integration-dashboard: passed"
