// SPDX-License-Identifier: GPL-2.0-or-later
// The INLISLite bridge's staff pages in Debian's Chromium, driven by
// playwright-core, against the bridge that tests/inlislite/lib.sh installed
// beside INLISLite's real schema and serves over HTTPS; the kiosk's side
// is its real HTTP API (Locker Sync API v1) called with the kiosk's token.
// staff.sh seeds the members and items and checks INLISLite's tables
// afterwards. Every check prints "ok - WHAT" or "not ok - WHAT" (then it
// exits 1 with a screenshot); values staff.sh needs are printed as
// "NAME=VALUE".
//
// Environment: INL_BASE, INL_URL, INL_STAFF_USER, INL_STAFF_PASSWORD,
// NODE_EXTRA_CA_CERTS (the test CA, for the kiosk's requests), CHROMIUM,
// PLAYWRIGHT_CORE, STORY_OUT, SQL (a command running SQL in INLISLite's
// database, for the refusal's setup).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

const BASE = process.env.INL_BASE;
const STAFF = BASE + 'staff/';
const OUT = process.env.STORY_OUT || '/tmp';
const { chromium } = await import(process.env.PLAYWRIGHT_CORE);

let browser, ctx, page, shot = 0;

function ok(what) {
	console.log(`ok - ${what}`);
}

async function snap(name) {
	const f = path.join(OUT, `${String(++shot).padStart(2, '0')}-${name}.png`);
	await page.screenshot({ path: f, fullPage: true });
	return f;
}

async function check(what, fn) {
	try {
		const r = await fn();
		ok(what);
		return r;
	} catch (e) {
		console.log(`not ok - ${what}`);
		console.log(`# ${String(e.message || e).split('\n').slice(0, 8).join('\n# ')}`);
		if (page) {
			const f = await snap('failed').catch(() => '');
			console.log(`# screenshot: ${f}; page: ${page.url()}`);
			const t = await page.evaluate(() => document.body ? document.body.innerText : '').catch(() => '');
			console.log(`# page: ${t.replace(/\s+/g, ' ').slice(0, 800)}`);
		}
		await browser?.close();
		process.exit(1);
	}
}

/* The kiosk: one request of the sync API with its token. */
let token = '';
async function kiosk(method, endpoint, body) {
	const r = await fetch(`${process.env.INL_URL}/kiosks/k1/${endpoint}`, {
		method,
		headers: { Authorization: `Bearer ${token}`, Accept: 'application/json',
			...(body ? { 'Content-Type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
	});
	const json = await r.json();
	assert.equal(r.status, 200, `${method} ${endpoint}: ${r.status} ${JSON.stringify(json)}`);
	return json;
}

let seq = 0;
async function event(type, payload) {
	const id = randomUUID();
	const r = await kiosk('POST', 'events', { events: [{ id, seq: ++seq, type, at: new Date().toISOString(), payload }] });
	assert.deepEqual(r.results.map((x) => [x.id, x.status]), [[id, 'accepted']], JSON.stringify(r));
}

/* Submits the form whose action is ACTION (filled by FILL) and waits for
 * the page that answers; returns its status note's text. */
async function submit(action, fill, { button = 'button', want = 'note-success', nth = 0 } = {}) {
	const form = page.locator(`form[data-action="${action}"]`).nth(nth);
	if (fill) {
		await fill(form);
	}
	const [resp] = await Promise.all([page.waitForNavigation(), form.locator(button).first().click()]);
	const note = page.locator('main .note').first();
	const text = (await note.innerText()).trim();
	const cls = await note.getAttribute('class');
	assert.ok(cls.includes(want), `expected ${want}, got "${cls}": ${text}`);
	return { text, status: resp.status() };
}

const STAFF_ACTOR = 'staff:' + 'ab'.repeat(32);

browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run'],
});
// The test CA is not in Chromium's store; the kiosk's requests check it.
ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'id-ID' });
page = await ctx.newPage();
page.setDefaultTimeout(30000);

await check('the staff page asks for an INLISLite sign-in, in Bahasa Indonesia', async () => {
	const r = await page.goto(STAFF);
	assert.equal(r.status(), 200);
	assert.match(await page.locator('form.login').innerText(), /Masuk dengan akun INLISLite Anda/);
	assert.equal(await page.locator('section').count(), 0, 'nothing of the page before sign-in');
});

await check('a wrong password is refused, and says so', async () => {
	await page.fill('input[name=username]', process.env.INL_STAFF_USER);
	await page.fill('input[name=password]', 'bukan-sandinya');
	const [resp] = await Promise.all([page.waitForNavigation(), page.click('form.login button')]);
	assert.equal(resp.status(), 403);
	assert.match(await page.locator('main .note').innerText(), /Nama pengguna atau kata sandi salah/);
	assert.equal(await page.locator('section').count(), 0);
	await snap('wrong-password');
});

await check('staff sign in with their INLISLite account', async () => {
	await page.fill('input[name=username]', process.env.INL_STAFF_USER);
	await page.fill('input[name=password]', process.env.INL_STAFF_PASSWORD);
	await Promise.all([page.waitForNavigation(), page.click('form.login button')]);
	assert.match(await page.locator('header').innerText(), /Masuk sebagai Petugas Sirkulasi/);
	await page.locator('section#request').waitFor();
});

await check('the session cookie is HttpOnly, Secure and SameSite=Strict', async () => {
	const c = (await ctx.cookies()).find((x) => x.name === 'lokerbuku_staff');
	assert.ok(c, 'no lokerbuku_staff cookie');
	assert.equal(c.httpOnly, true);
	assert.equal(c.secure, true);
	assert.equal(c.sameSite, 'Strict');
});

await check('add kiosk k1: its token is shown once', async () => {
	const r = await submit('add_kiosk', async (f) => {
		await f.locator('input[name=kiosk]').fill('k1');
		await f.locator('input[name=name]').fill('Lobi Utama');
	});
	assert.match(r.text, /Tersimpan/);
	token = (await page.locator('code.token').innerText()).trim();
	assert.match(token, /^[A-Za-z0-9_-]{32,}$/);
	console.log(`TOKEN=${token}`);
	await snap('kiosk-added');
});

const holds = {};
for (const [member, items, size] of [['M-1001', 'B-1\nB-2', 'small'], ['M-1002', 'B-3', 'medium']]) {
	await check(`a request for ${member} from barcodes becomes a hold for kiosk k1`, async () => {
		await submit('route_items', async (f) => {
			await f.locator('input[name=member]').fill(member);
			await f.locator('textarea[name=items]').fill(items);
			await f.locator('select[name=kiosk]').selectOption('k1');
			await f.locator('select[name=size]').selectOption(size);
		});
		const info = await page.locator('main .note-info').innerText();
		const m = info.match(/Reservasi (\S+) dibuat/);
		assert.ok(m, info);
		holds[member] = m[1];
		const row = page.locator(`table.holds tr[data-key="${m[1]}"]`);
		assert.match(await row.innerText(), new RegExp(`${member}.*menunggu dimasukkan`, 's'));
		console.log(`HOLD_${member.replace('-', '_')}=${m[1]}`);
	});
}
await snap('holds-pending');

await check('an unknown barcode is refused with the reason', async () => {
	const r = await submit('route_items', async (f) => {
		await f.locator('input[name=member]').fill('M-1001');
		await f.locator('textarea[name=items]').fill('TIDAK-ADA-99');
	}, { want: 'note-warning' });
	assert.match(r.text, /Tidak dilakukan: .*TIDAK-ADA-99/);
});

await check('a form with a wrong CSRF token is refused and changes nothing', async () => {
	const before = await page.locator('table.holds tbody tr').count();
	const r = await submit('route_items', async (f) => {
		await f.locator('input[name=member]').fill('M-1001');
		await f.locator('textarea[name=items]').fill('B-4');
		await f.locator('input[name=csrf]').evaluate((e) => { e.value = 'x'.repeat(64); });
	}, { want: 'note-warning' });
	assert.equal(r.status, 403);
	assert.match(r.text, /Formulir sudah kedaluwarsa/);
	assert.equal(await page.locator('table.holds tbody tr').count(), before);
	assert.doesNotMatch(await page.locator('table.holds').innerText(), /B-4/);
});

await check('the kiosk loads both holds (hold_loaded) and reports its lockers (status)', async () => {
	await event('hold_loaded', { hold_id: holds['M-1001'], locker: 3, actor: STAFF_ACTOR,
		items: [{ barcode: 'B-1' }, { barcode: 'B-2' }] });
	await event('hold_loaded', { hold_id: holds['M-1002'], locker: 5, actor: STAFF_ACTOR,
		items: [{ barcode: 'B-3' }] });
	const locker = (n, hold) => ({ number: n, size: 'small', kind: 'hold', door: 'closed', state: 'closed',
		purpose: 'none', disabled: false, fault: 'none', alarm_left_open: false, alarm_forced_open: false,
		hold, returns: 0 });
	await kiosk('POST', 'status', { at: new Date().toISOString(), kiosk_id: 'k1', version: '0.1.0', uptime_s: 60,
		in_service: true, backlog: 2, rejected_events: 0, active_holds: 2,
		lockers: [locker(3, holds['M-1001']), locker(5, holds['M-1002']), locker(7, null)],
		faults: ['scanner: not answering'], done_commands: [] });
});

await check('staff see both holds in their lockers, with expiry, and the kiosk online with doors and faults', async () => {
	await page.goto(STAFF);
	for (const [member, n] of [['M-1001', '3'], ['M-1002', '5']]) {
		const cells = await page.locator(`table.holds tr[data-key="${holds[member]}"] td`).allInnerTexts();
		assert.equal(cells[4], n, `locker of ${member}: ${cells}`);
		assert.equal(cells[5], 'di loker');
		assert.match(cells[7], /^\d\d-\d\d-\d{4} \d\d:\d\d$/, `expiry: ${cells[7]}`);
	}
	const k = page.locator('div.kiosk[data-kiosk="k1"]');
	assert.equal(await k.locator('.badge').innerText(), 'Daring');
	assert.match(await k.innerText(), /Antrean kejadian: 2/);
	assert.equal(await k.locator('.faults').innerText(), 'scanner: not answering');
	assert.match(await k.locator('table.lockers tr[data-key="locker-3"]').innerText(), /tertutup/);
	await snap('loaded');
});

await check('each patron is told once by SMS (INLISLite\'s Gammu outbox)', async () => {
	for (const member of ['M-1001', 'M-1002']) {
		const told = await page.locator(`table.holds tr[data-key="${holds[member]}"] td`).nth(8).innerText();
		assert.equal(told.trim(), 'sms: terkirim', `${member}: ${told}`);
	}
});

await check('a pickup that INLISLite\'s rules refuse is shown to staff with the reason', async () => {
	// The member was suspended in INLISLite after the hold was loaded.
	execFileSync('sh', ['-c', `${process.env.SQL} -e "UPDATE members SET StatusAnggota_id = 5 WHERE MemberNo = 'M-1002'"`]);
	await event('hold_picked_up', { hold_id: holds['M-1002'], locker: 5, actor: 'patron:' + 'cd'.repeat(32),
		items: [{ barcode: 'B-3' }] });
	await page.goto(STAFF);
	const rows = page.locator('table.refusals tbody tr');
	assert.equal(await rows.count(), 1);
	const text = await rows.first().innerText();
	assert.match(text, /hold_picked_up/);
	assert.match(text, /B-3: anggota diblokir \(nonaktif atau suspend\)/);
	await snap('refusal');
});

await check('the patron who may borrow picks up: the hold leaves the page', async () => {
	await event('hold_picked_up', { hold_id: holds['M-1001'], locker: 3, actor: 'patron:' + 'ef'.repeat(32),
		items: [{ barcode: 'B-1' }, { barcode: 'B-2' }] });
	await page.goto(STAFF);
	assert.equal(await page.locator(`table.holds tr[data-key="${holds['M-1001']}"]`).count(), 0);
});

await check('a return deposited at the kiosk waits under "Pengembalian untuk diproses", not among refusals', async () => {
	// B-1 was due two weeks ago (the library's day: Asia/Jakarta).
	execFileSync('sh', ['-c', `${process.env.SQL} -e "SET time_zone = '+07:00'; UPDATE collectionloanitems i`
		+ ` JOIN collections c ON c.ID = i.Collection_id SET i.DueDate = CURDATE() - INTERVAL 14 DAY`
		+ ` WHERE c.NomorBarcode = 'B-1'"`]);
	await event('return_deposited', { locker: 11, actor: 'patron:' + 'ef'.repeat(32), items: [{ barcode: 'B-1' }] });
	await page.goto(STAFF);
	const rows = page.locator('table.returns tbody tr');
	assert.equal(await rows.count(), 1);
	const cells = await rows.first().locator('td').allInnerTexts();
	assert.deepEqual(cells.slice(1, 4), ['k1', '11', 'B-1'], String(cells));
	assert.equal(await rows.first().locator('input[name=items]').inputValue(), 'B-1', 'the scanned barcode offered');
	assert.equal(await page.locator('table.refusals tbody tr').count(), 1, 'only the refused pickup');
	await snap('return-waits');
});

await check('staff check in what they took out: INLISLite\'s return, late days for staff to decide', async () => {
	// Staff found B-3 in the compartment too (it is not on loan).
	const r = await submit('checkin', async (f) => {
		await f.locator('input[name=items]').fill('B-1 B-3');
	});
	assert.match(r.text, /Tersimpan/);
	const info = await page.locator('main .note-info').innerText();
	assert.match(info, /B-1: dikembalikan oleh M-1001, terlambat 10 hari: denda atau skorsing diputuskan petugas/);
	assert.match(info, /B-3: tidak sedang dipinjam/);
	assert.equal(await page.locator('table.returns').count(), 0);
	assert.match(await page.locator('section#returns').innerText(), /Tidak ada pengembalian yang menunggu/);
	assert.equal(await page.locator('table.refusals tbody tr').count(), 1);
	await snap('checked-in');
});

await check('an OPAC booking (IsBookingActivated on) is sent to a locker as a hold', async () => {
	// As INLISLite's OPAC books a copy: the collection's booking columns and
	// a bookinglogs row, in the library's local time (Asia/Jakarta).
	execFileSync('sh', ['-c', `${process.env.SQL} -e "SET time_zone = '+07:00'; UPDATE settingparameters SET Value = '1'`
		+ ` WHERE Name = 'IsBookingActivated'; UPDATE collections SET BookingMemberID = 'M-1002',`
		+ ` BookingExpiredDate = NOW() + INTERVAL 3 HOUR WHERE NomorBarcode = 'B-5';`
		+ ` INSERT INTO bookinglogs (memberId, collectionId, bookingDate, bookingExpired)`
		+ ` SELECT 'M-1002', ID, NOW(), NOW() + INTERVAL 3 HOUR FROM collections WHERE NomorBarcode = 'B-5'"`]);
	await page.goto(STAFF);
	const row = page.locator('table.bookings tr[data-key="B-5"]');
	assert.match(await row.innerText(), /M-1002 Budi Santoso/);
	await submit('route_bookings', async (f) => {
		await f.locator('input[name="booking[]"][value="B-5"]').check();
		await f.locator('select[name=kiosk]').selectOption('k1');
	});
	const m = (await page.locator('main .note-info').innerText()).match(/Reservasi (\S+) dibuat/);
	assert.ok(m);
	assert.match(await page.locator(`table.holds tr[data-key="${m[1]}"]`).innerText(), /M-1002.*B-5/s);
	assert.equal(await page.locator('table.bookings').count(), 0, 'the booking is no longer offered');
	console.log(`HOLD_BOOKING=${m[1]}`);
	await snap('booking');
});

await check('a remote command from the page reaches the kiosk with its next status', async () => {
	const r = await submit('command', null, { nth: 0 });
	assert.match(r.text, /Tersimpan/);
	const k = page.locator('div.kiosk[data-kiosk="k1"]');
	assert.equal(await k.locator('.waiting').innerText(), '1');
	const reply = await kiosk('POST', 'status', { at: new Date().toISOString(), kiosk_id: 'k1', version: '0.1.0',
		uptime_s: 120, in_service: true, backlog: 0, lockers: [], faults: [], done_commands: [] });
	const cmds = reply.commands || [];
	assert.equal(cmds.length, 1, JSON.stringify(reply));
	assert.equal(cmds[0].type, 'open_locker');
	assert.equal(cmds[0].locker, 3);
	console.log(`COMMAND=${cmds[0].id}`);
});

await check('staff set the kiosk\'s hold window and require members\' PINs', async () => {
	const r = await submit('kiosk_settings', async (f) => {
		await f.locator('input[name=hold_window_days]').fill('3');
		await f.locator('input[name=pin_required]').check();
	});
	assert.match(r.text, /Tersimpan/);
	const f = page.locator('form[data-action="kiosk_settings"]');
	assert.equal(await f.locator('input[name=hold_window_days]').inputValue(), '3');
	assert.equal(await f.locator('input[name=pin_required]').isChecked(), true);
});

await check('staff enrol an NFC card and set a kiosk PIN for a member', async () => {
	let r = await submit('enrol', async (f) => {
		await f.locator('input[name=member]').fill('M-1001');
		await f.locator('input[name=uid]').fill('04A1B2C3D4E5F6');
	});
	assert.match(r.text, /Tersimpan/);
	r = await submit('member_pin', async (f) => {
		await f.locator('input[name=member]').fill('M-1001');
		await f.locator('input[name=pin]').fill('482913');
	});
	assert.match(r.text, /Tersimpan/);
	r = await submit('enrol', async (f) => {
		await f.locator('input[name=member]').fill('BUKAN-ANGGOTA');
		await f.locator('input[name=uid]').fill('04A1B2C3D4E5F7');
	}, { want: 'note-warning' });
	assert.match(r.text, /anggota BUKAN-ANGGOTA tidak ada di INLISLite/);
	await snap('setup');
});

await check('the page speaks English when asked', async () => {
	await page.goto(STAFF + '?lang=en');
	assert.match(await page.locator('section#holds h2').innerText(), /^Holds$/);
	assert.match(await page.locator('header').innerText(), /Signed in as Petugas Sirkulasi/);
	await snap('english');
});

await check('signing out ends the session', async () => {
	await Promise.all([page.waitForNavigation(), page.click('header form button')]);
	await page.goto(STAFF);
	assert.equal(await page.locator('form.login').count(), 1);
	assert.equal(await page.locator('section').count(), 0);
});

await browser.close();
