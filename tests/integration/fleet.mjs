// SPDX-License-Identifier: GPL-2.0-or-later
// lokerhub's fleet status page in Debian's Chromium (tests/integration/
// fleet.sh sets up the fleet): the summary, a row per kiosk with the
// problems first, and a screenshot at FLEET_SHOT.
import assert from 'node:assert/strict';

const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM,
	args: ['--no-sandbox'],
});
try {
	const page = await browser.newPage({ viewport: { width: 1280, height: 520 } });
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
	await page.goto(process.env.FLEET_URL);
	const row = (id) => page.locator(`tr[data-kiosk="${id}"] td`);
	await page.locator('tr[data-kiosk="demo-01"]').waitFor({ timeout: 10000 });

	assert.equal(await page.locator('#c-online b').textContent(), '1 / 2');
	assert.equal(await page.locator('#c-faults b').textContent(), '1');
	assert.equal(await page.locator('#c-expiring b').textContent(), '1');

	const first = await row('kiosk-02').allTextContents();
	assert.match(first[1], /never seen/);
	const demo = await row('demo-01').allTextContents();
	assert.match(demo[1], /daring · online/);
	assert.equal(demo[3], '0', 'backlog');
	assert.equal(demo[4], '3', 'doors open');
	assert.notEqual(demo[5], '–', 'faults shown');
	assert.equal(demo[6], '1 / 1 / 1', 'holds waiting / loaded / expiring');
	assert.notEqual(demo[7], '–', 'next expiry shown');
	/* The kiosk never seen is a problem: it comes first. */
	assert.equal(await page.locator('tbody tr').first().getAttribute('data-kiosk'),
		'kiosk-02');
	assert.deepEqual(errors, [], 'no script errors');
	await page.screenshot({ path: process.env.FLEET_SHOT, fullPage: true });
	console.log('ok - the fleet page shows every kiosk as staff need it');
} finally {
	await browser.close();
}
