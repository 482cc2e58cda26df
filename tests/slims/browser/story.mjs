// SPDX-License-Identifier: GPL-2.0-or-later
// The pages of the "layanan tertutup" story in Debian's Chromium, driven by
// playwright-core, against the real SLiMS 9.7 that tests/slims/lib.sh
// installed: SLiMS's OPAC member area for the patrons, SLiMS's admin login
// and shell for staff, and the plugin's pages inside them. story.sh runs
// one step at a time between the kiosk's steps:
//
//   node story.mjs STEP ARGS...
//
// Environment: SLIMS_BASE, SLIMS_ADMIN_USER, SLIMS_ADMIN_PASSWORD,
// CHROMIUM, PLAYWRIGHT_CORE, STORY_OUT (screenshots of failures). Every
// check prints "ok - WHAT" or "not ok - WHAT" (then the step exits 1);
// values story.sh needs are printed as "NAME=VALUE".
import assert from 'node:assert/strict';
import path from 'node:path';

const BASE = process.env.SLIMS_BASE;
const OUT = process.env.STORY_OUT || '/tmp';
const { chromium } = await import(process.env.PLAYWRIGHT_CORE);

let browser, page, step = '', shot = 0;

function ok(what) {
	console.log(`ok - ${what}`);
}

/* check WHAT, FN: FN throws (an assertion, a time-out) or the check passes. */
async function check(what, fn) {
	try {
		const r = await fn();
		ok(what);
		return r;
	} catch (e) {
		console.log(`not ok - ${what}`);
		console.log(`# ${String(e.message || e).split('\n').slice(0, 6).join('\n# ')}`);
		if (page) {
			const f = path.join(OUT, `${step}-${++shot}.png`);
			await page.screenshot({ path: f, fullPage: true }).catch(() => {});
			console.log(`# screenshot: ${f}; page: ${page.url()}`);
			for (const fr of page.frames()) {
				const t = await fr.evaluate(() => document.body ? document.body.innerText : '').catch(() => '');
				console.log(`# frame ${fr.url()}: ${t.replace(/\s+/g, ' ').slice(0, 600)}`);
			}
		}
		await browser?.close();
		process.exit(1);
	}
}

async function start() {
	browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--no-first-run'],
	});
	// The test CA is not in Chromium's store; TLS itself is checked by
	// curl and lokerd against it.
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
	page = await ctx.newPage();
	page.setDefaultTimeout(20000);
	// SLiMS confirms some actions (reserve, remove) with window.confirm.
	page.on('dialog', (d) => d.accept().catch(() => {}));
}

/* ---- staff: SLiMS's admin login and shell ---- */

async function adminLogin() {
	await check('staff log in at SLiMS\'s admin login (index.php?p=login)', async () => {
		await page.goto(BASE + 'index.php?p=login');
		await page.fill('input[name=userName]', process.env.SLIMS_ADMIN_USER);
		await page.fill('input[name=passWord]', process.env.SLIMS_ADMIN_PASSWORD);
		await Promise.all([page.waitForURL(/admin\/index\.php/), page.click('input[name=logMeIn]')]);
		await page.locator('#mainMenu').waitFor();
	});
}

/* The admin shell is still around the plugin's page: SLiMS's menu, the
 * sub-menu, the page inside #mainContent, the URL still the shell's. */
async function inShell(what) {
	await check(`${what}: inside SLiMS's admin shell (menu and sub-menu kept)`, async () => {
		assert.match(page.url(), /\/admin\/index\.php/);
		assert.ok(await page.locator('#mainMenu a[href="index.php?mod=circulation"]').isVisible());
		assert.ok(await page.locator('#sidepan a.subMenuItem', { hasText: 'Book Lockers' }).count() === 1);
		assert.ok(await page.locator('#mainContent div.lokerbuku').count() === 1);
	});
}

/* Circulation -> Book Lockers, through the menus as staff click them. */
async function openLockers() {
	await check('Circulation -> Book Lockers opens the staff page', async () => {
		await page.click('#mainMenu a[href="index.php?mod=circulation"]');
		await page.waitForURL(/mod=circulation/);
		await page.click('#sidepan a.subMenuItem:has-text("Book Lockers")');
		await page.locator('#mainContent div.lokerbuku').waitFor();
		const text = await page.locator('#mainContent').innerText();
		assert.doesNotMatch(text, /not authorized/i);
	});
	await inShell('Book Lockers');
}

/* Submits FORM (a locator) as staff do and waits for the page to come back
 * in #mainContent with its message; returns the message's text. */
async function submit(form, button, want = 'success') {
	const before = await page.locator('#mainContent div.lokerbuku').elementHandle();
	await form.locator(button).click();
	await page.waitForFunction((old) => {
		const now = document.querySelector('#mainContent div.lokerbuku');
		return now && now !== old && (now.querySelector('.alert') || document.querySelector('#mainContent .alert'));
	}, before, { timeout: 20000 });
	const alert = page.locator('#mainContent .alert').first();
	const cls = await alert.getAttribute('class');
	const text = (await alert.innerText()).trim();
	assert.ok(cls.includes(`alert-${want}`), `expected alert-${want}, got "${cls}": ${text}`);
	return text;
}

function formOf(action) {
	return page.locator(`#mainContent div.lokerbuku form:has(input[name=action][value="${action}"])`).first();
}

const steps = {
	/* setup KIOSK SITE-KEY-PATH STAFF-CARD STAFF-PIN: the library's first
	 * day: the site key file, a kiosk that asks patrons for their PIN, a
	 * kiosk staff member. Prints TOKEN=... */
	async setup(kiosk, keyPath, staffCard, staffPin) {
		await adminLogin();
		await openLockers();
		await check('Site key file: the path is saved', async () => {
			const f = formOf('site_key_file');
			await f.locator('input[name=path]').fill(keyPath);
			await submit(f, 'button, input[type=submit]');
		});
		await inShell('after saving the site key');
		const token = await check(`Add kiosk ${kiosk}: its token is shown once`, async () => {
			const f = formOf('add_kiosk');
			await f.locator('input[name=kiosk]').fill(kiosk);
			await f.locator('input[name=name]').fill('Loker Buku Lobi');
			await submit(f, 'button, input[type=submit]');
			const t = (await page.locator('#mainContent code.lokerbuku-token').innerText()).trim();
			assert.match(t, /^\S{20,}$/);
			return t;
		});
		console.log(`TOKEN=${token}`);
		await inShell('after adding the kiosk');
		await check(`kiosk ${kiosk}: "Patrons must give their PIN" saved`, async () => {
			const card = page.locator(`#mainContent div.lokerbuku-kiosk[data-kiosk="${kiosk}"]`);
			const f = card.locator('form:has(input[name=action][value="kiosk_settings"])');
			await f.locator('input[name=pin_required]').check();
			await submit(f, 'button, input[type=submit]');
			assert.ok(await page.locator(`#mainContent div.lokerbuku-kiosk[data-kiosk="${kiosk}"] input[name=pin_required]`).isChecked());
		});
		await check('Kiosk staff: a staff card and PIN added', async () => {
			const f = formOf('staff');
			await f.locator('input[name=credential]').fill(staffCard);
			await f.locator('input[name=pin]').fill(staffPin);
			await f.locator('input[name=name]').fill('Petugas Loket');
			await submit(f, 'button, input[type=submit]');
		});
		await inShell('after adding kiosk staff');
	},

	/* reserve MEMBER PASSWORD BIBLIO TITLE: the patron logs in to the OPAC
	 * member area, puts the title in the basket and reserves it. */
	async reserve(member, password, biblio, title) {
		await memberLogin(member, password);
		await check(`${member} finds "${title}" in the OPAC and adds it to the basket`, async () => {
			await page.goto(BASE + 'index.php?search=search&keywords=' + encodeURIComponent(title));
			const add = page.locator(`.add-to-chart-button[data-biblio="${biblio}"]`).first();
			await add.waitFor({ state: 'attached' });
			const reply = page.waitForResponse((r) => r.request().method() === 'POST' && /p=member/.test(r.url()));
			await add.evaluate((a) => a.click());
			await reply;
		});
		await check(`${member} reserves the basket in the member area`, async () => {
			await page.goto(BASE + 'index.php?p=member&sec=title_basket');
			await page.locator('#memberBasketListForm').waitFor({ state: 'attached' });
			assert.match(await page.locator('body').innerText(), new RegExp(title));
			const reply = page.waitForResponse((r) => r.request().method() === 'POST' && /p=member/.test(r.url()));
			await page.click('a.basket.reserve');
			const body = await (await reply).text();
			assert.match(body, /reserved successfully/i, body.slice(0, 300));
		});
	},

	/* pin MEMBER PASSWORD PIN: the member sets a kiosk PIN in the OPAC. */
	async pin(member, password, pin) {
		await memberLogin(member, password);
		await check(`${member} sets a kiosk PIN on the OPAC page index.php?p=kiosk_pin`, async () => {
			await page.goto(BASE + 'index.php?p=kiosk_pin');
			const f = page.locator('form#lokerbuku-pin');
			await f.locator('input[name=pin]').fill(pin);
			await f.locator('input[name=pin2]').fill(pin);
			await Promise.all([page.waitForLoadState('load'), f.locator('button, input[type=submit]').click()]);
			await page.locator('.alert-success').waitFor();
			assert.match(await page.locator('.alert-success').innerText(), /PIN/);
		});
	},

	/* route KIOSK SIZE RESERVE-ID...: staff send one member's fetched books. */
	async route(kiosk, size, ...reserves) {
		await adminLogin();
		await openLockers();
		await check(`Reservations waiting: ${reserves.join(', ')} sent to ${kiosk} (${size})`, async () => {
			const f = formOf('route');
			for (const r of reserves) await f.locator(`input[name="reserve[]"][value="${r}"]`).check();
			await f.locator('select[name=kiosk]').selectOption(kiosk);
			await f.locator('select[name=size]').selectOption(size);
			await submit(f, 'button, input[type=submit]');
		});
		await inShell('after routing');
	},

	/* notified HOLD...: the staff page says each patron was notified. */
	async notified(...holds) {
		await adminLogin();
		await openLockers();
		for (const h of holds) {
			await check(`Holds in lockers: ${h} shows its patron notified`, async () => {
				const row = page.locator(`#mainContent table.lokerbuku-holds tr[data-hold="${h}"]`);
				await row.waitFor();
				assert.equal(await row.locator('.lokerbuku-not-notified').count(), 0);
				assert.match(await row.innerText(), /\bsent\b/i);
			});
		}
	},

	/* loans MEMBER PASSWORD ITEM...: the loans in SLiMS's circulation
	 * (Start Transaction for the member) and in the member's OPAC page. */
	async loans(member, password, ...items) {
		await adminLogin();
		await check(`Circulation -> Start Transaction for ${member} lists the loans ${items.join(', ')}`, async () => {
			await page.click('#mainMenu a[href="index.php?mod=circulation"]');
			await page.waitForURL(/mod=circulation/);
			await page.locator('#mainContent input[name=memberID]').fill(member);
			await page.locator('#mainContent input[name=start]').click();
			await page.waitForFunction((want) => {
				const texts = [];
				const walk = (w) => {
					try { texts.push(w.document.body.innerText); } catch (e) { /* not loaded */ }
					for (let i = 0; i < w.frames.length; i++) walk(w.frames[i]);
				};
				walk(window);
				const all = texts.join('\n');
				return want.every((c) => all.includes(c));
			}, items, { timeout: 20000 });
		});
		await memberLogin(member, password);
		await check(`${member}'s OPAC member area lists the loans ${items.join(', ')}`, async () => {
			await page.goto(BASE + 'index.php?p=member');
			const text = await page.locator('body').innerText();
			for (const c of items) assert.ok(text.includes(c), `${c} not in the member's page`);
		});
	},

	/* checkin KIOSK ITEM...: staff check in the books of a deposited return. */
	async checkin(kiosk, ...items) {
		await adminLogin();
		await openLockers();
		const ev = await check('Returns to check in: the return deposited at the kiosk is listed', async () => {
			const row = page.locator('#mainContent table.lokerbuku-returns tr[data-event]', { hasText: kiosk }).first();
			await row.waitFor();
			return row.getAttribute('data-event');
		});
		await check(`Check in: ${items.join(', ')} returned`, async () => {
			const f = page.locator(`#mainContent table.lokerbuku-returns tr[data-event="${ev}"] form`);
			await f.locator('input[name=items]').fill(items.join(' '));
			await submit(f, 'button, input[type=submit]');
			assert.equal(await page.locator(`#mainContent table.lokerbuku-returns tr[data-event="${ev}"]`).count(), 0);
		});
		await inShell('after the check-in');
		console.log(`EVENT=${ev}`);
	},
};

/* ---- patrons: SLiMS's OPAC member login ---- */

async function memberLogin(member, password) {
	await check(`${member} logs in to SLiMS's OPAC member area`, async () => {
		await page.goto(BASE + 'index.php?p=member');
		await page.fill('input[name=memberID]', member);
		await page.fill('input[name=memberPassWord]', password);
		await Promise.all([page.waitForLoadState('load'), page.click('input[name=logMeIn]')]);
		await page.waitForURL(/p=member/);
		assert.equal(await page.locator('input[name=memberPassWord]').count(), 0, 'still the login form');
	});
}

const [name, ...args] = process.argv.slice(2);
if (!steps[name]) {
	console.error(`story.mjs: unknown step '${name}'`);
	process.exit(2);
}
step = name;
await start();
await steps[name](...args);
await browser.close();
