// SPDX-License-Identifier: GPL-2.0-or-later
// The kiosk screen: follows lokerd's state (GET /api/events), shows the
// screen lokerd decided, and forwards what the person at the screen does
// (POST /api/action). The only screen of its own is the pickup-code keypad,
// shown over lokerd's idle screen until the code is sent.
import { h, replace } from './js/dom.js';
import * as i18n from './js/i18n.js';
import { t } from './js/i18n.js';
import * as api from './js/api.js';
import * as sound from './js/sound.js';
import { views, digitRule } from './js/screens.js';
import { staffMenu } from './js/staff.js';
import { keypadKey } from './js/keypad.js';

const SUCCESS_SCREENS = new Set(['lockers_open', 'return_open', 'thank_you',
	'staff_menu']);
const ERROR_SCREENS = new Set(['wrong_pin', 'unknown_card', 'wrong_code', 'no_holds',
	'locked_out', 'pin_not_set', 'locker_fault', 'bad_credential',
	'return_full']);
/* The screens with a spoken prompt (speech.* of i18n/<lang>.json). */
const SPOKEN = new Set(['lockers_open', 'choose_books', 'close_door', 'thank_you', 'pin',
	'wrong_pin', 'wrong_code', 'unknown_card', 'no_holds', 'locked_out',
	'bad_credential', 'locker_fault', 'return_open', 'return_full',
	'reader_down']);
const KNOWN_ERRNOS = new Set(['EBUSY', 'ENOSPC', 'EACCES', 'ENOENT',
	'EALREADY', 'EPERM', 'EINVAL', 'network']);
/* The stream may blink during a reconnect; say so only when it lasts. */
const LINK_DOWN_GRACE_MS = 800;
const TOAST_MS = 6000;
/*
 * The same one-shot action again this soon after it worked is a double
 * tap; a door opened for maintenance may well be opened again at once.
 */
const REPEAT_MS = 1500;
const ONE_SHOT = new Set(['return', 'load', 'unload', 'scan']);

const freshStaff = () => ({ selected: 0, ops: [], error: null, scan: '' });

const app = {
	state: null,	 /* lokerd's, as last streamed */
	linked: false,	 /* the event stream is up */
	local: null,	 /* the app's own screen over idle: 'code' */
	digits: '',	 /* typed on the keypad */
	flow: null,	 /* 'pickup' or 'return', for the thank-you */
	flowLockers: [], /* the doors a pickup opened */
	codeSent: false, /* a code typed here is being tried */
	wrongCode: false, /* lokerd's unknown_card came for that code */
	keepLang: false, /* the session ends only to try the code again */
	leave: new Set(), /* choose_books: "hold\nbarcode" of the books left */
	inFlight: new Set(), /* actions sent, not answered yet */
	lastDone: { key: '', at: 0 }, /* the latest action that worked */
	staff: freshStaff(),
	shown: null,	 /* what was last shown, to announce changes once */
	idleTimer: 0,
	warnTimer: 0,	 /* the warning before idleTimer, its countdown */
	idleAt: 0,	 /* when idleTimer fires (performance.now()) */
	linkTimer: 0,
	toastTimer: 0,
};

function errorKey(reply) {
	return KNOWN_ERRNOS.has(reply.errno) ? `error.${reply.errno}` :
		'error.generic';
}

function toast(key) {
	const el = document.getElementById('toast');

	el.textContent = t(key);
	el.hidden = false;
	clearTimeout(app.toastTimer);
	app.toastTimer = setTimeout(() => { el.hidden = true; }, TOAST_MS);
}

/* After an action: when the stream is down, ask for the state instead. */
async function afterAction(reply) {
	if (!reply.ok && reply.errno === 'network')
		return;
	if (!app.linked) {
		try {
			onState(await api.getState());
		} catch {
			/* the stream's reconnect will bring it */
		}
	}
}

/*
 * Sends an action once: a second tap while the first is on its way, or
 * just after it worked, is the same tap (null: not sent).
 */
async function once(body) {
	const key = JSON.stringify(body);

	if (app.inFlight.has(key) || (ONE_SHOT.has(body.action) &&
	    app.lastDone.key === key &&
	    performance.now() - app.lastDone.at < REPEAT_MS))
		return null;
	app.inFlight.add(key);
	const reply = await api.action(body);
	app.inFlight.delete(key);
	if (reply.ok)
		app.lastDone = { key, at: performance.now() };
	return reply;
}

async function send(body) {
	const reply = await once(body);

	if (!reply)
		return { ok: true, repeated: true };
	if (!reply.ok) {
		sound.play('error');
		toast(errorKey(reply));
	}
	await afterAction(reply);
	return reply;
}

/* What the screens may do; see js/screens.js and js/staff.js. */
const ctx = {
	get state() { return app.state; },
	get digits() { return app.digits; },
	get flow() { return app.flow; },
	get flowLockers() { return app.flowLockers; },
	get staff() { return app.staff; },
	leaving: (hold, barcode) => app.leave.has(`${hold}\n${barcode}`),
	leavingCount: () => app.leave.size,
	toggleBook(hold, barcode) {
		const key = `${hold}\n${barcode}`;

		if (!app.leave.delete(key))
			app.leave.add(key);
		render();
	},
	/* "Buka loker": the books left, hold by hold; the rest are taken. */
	async pickup() {
		const leave = new Map();

		for (const key of app.leave) {
			const [hold, barcode] = key.split('\n');
			if (!leave.has(hold))
				leave.set(hold, []);
			leave.get(hold).push(barcode);
		}
		await send({ action: 'pickup', leave: [...leave].map(([hold, items]) =>
			({ hold, items })) });
	},
	setDigits(v) {
		app.digits = v;
		render();
	},
	go(local) {
		app.local = local;
		app.digits = '';
		render();
	},
	/* "Batal", "Selesai", "Keluar": the app's screen, or lokerd's session. */
	cancel() {
		app.digits = '';
		app.codeSent = false;
		if (app.local && app.state?.screen.name === 'idle') {
			app.local = null;
			render();
			return;
		}
		app.local = null;
		if (app.state && app.state.screen.name !== 'idle')
			send({ action: 'cancel' });
		render();
	},
	send,
	/* The help screen's "Kembali": back to the screen it was opened on. */
	closeHelp() {
		app.help = false;
		render();
	},
	async submitCode(code) {
		app.digits = '';
		app.codeSent = true;
		render();
		/* The code screen stays until lokerd's screen changes. */
		const reply = await send({ action: 'code', code });
		if (reply.ok && reply.screen?.name === 'idle')
			ctx.cancel();
	},
	/* "Ketik ulang kode": lokerd's screen ends, the keypad comes back. */
	retryCode() {
		app.wrongCode = false;
		app.keepLang = true;
		app.local = 'code';
		app.digits = '';
		send({ action: 'cancel' });
		render();
	},
	async submitPin(pin) {
		app.digits = '';
		render();
		await send({ action: 'pin', pin });
	},
	select(n) {
		app.staff.selected = app.staff.selected === n ? 0 : n;
		render();
	},
	async staffDo(body) {
		const holds = app.state?.staff?.holds || [];
		const reply = await once(body);
		let hold = body.hold;

		/* A double tap: the first tap's message stays. */
		if (!reply || reply.errno === 'EALREADY')
			return;
		app.staff.error = null;
		if (!reply.ok) {
			app.staff.error = errorKey(reply);
			app.staff.ops = [];
			sound.play('error');
		} else {
			if (body.action === 'scan') {
				const x = holds.find((x) => x.id === body.text ||
					x.items.some((i) => i.barcode === body.text));
				hold = x?.id ?? body.text;
				app.staff.scan = '';
			}
			const kind = body.action === 'scan' ? 'load' : body.action;
			const locker = reply.unlocked?.[0] ?? body.locker;
			/* Nothing to tell about an action that opened nothing. */
			app.staff.ops = locker ? [{ kind, hold, locker }] : [];
		}
		await afterAction(reply);
		render();
	},
	async unloadAll(ids) {
		const ops = [];

		app.staff.error = null;
		for (const id of ids) {
			const reply = await api.action({ action: 'unload', hold: id });
			if (!reply.ok) {
				app.staff.error = errorKey(reply);
				sound.play('error');
				break;
			}
			if (reply.unlocked?.[0])
				ops.push({ kind: 'unload', hold: id,
					locker: reply.unlocked[0] });
		}
		app.staff.ops = ops;
		render();
	},
};

/* The screens the help screen may be opened from (the header's button). */
const HELP_FROM = new Set(['idle', 'reader_down', 'out_of_service',
	...ERROR_SCREENS]);

function viewName() {
	const base = screenName();

	return app.help && HELP_FROM.has(base) ? 'help' : base;
}

function screenName() {
	const s = app.state;

	if (!s)
		return 'connecting';
	if (s.screen.name === 'idle') {
		if (app.local)
			return app.local;
		if (!s.in_service)
			return 'out_of_service';
		/* A card reader out of order: the keypad instead of a tap. */
		if (s.reader && !s.reader.ok)
			return 'reader_down';
	}
	if (s.screen.name === 'unknown_card' && app.wrongCode)
		return 'wrong_code';
	return s.screen.name;
}

function fallback() {
	return { title: t('app.title'), tone: 'info', body: [] };
}

function announce(text) {
	const el = document.getElementById('announce');

	/* Emptied first, so the same words said twice are said twice. */
	el.textContent = '';
	setTimeout(() => { el.textContent = text; }, 50);
}

function render() {
	const name = viewName();
	const s = app.state;
	const main = document.getElementById('screen');
	const v = name === 'staff_menu' ? staffMenu(ctx, s) :
		(views[name] || fallback)(ctx, s);
	const active = document.activeElement;
	const focusKey = active?.dataset?.focus;
	const caret = focusKey ? active.selectionStart : null;

	main.dataset.screen = name;
	main.className = ['screen', `tone-${v.tone}`, v.wide && 'screen-wide',
		v.figure && 'has-figure'].filter(Boolean).join(' ');
	const words = [v.pre, h('h1', { class: 'title', id: 'title' }, v.title),
		v.body];
	/*
	 * A screen with a figure (a keypad, the locker bank) puts it beside
	 * its words on short panels and below them on tall ones; the buttons
	 * that end the screen (v.end) come last either way.
	 */
	if (v.figure)
		replace(main, h('div', { class: 'words' }, words),
			h('div', { class: 'figure' }, v.figure),
			v.end ? h('div', { class: 'end' }, v.end) : null);
	else
		replace(main, words, v.end);
	/* A re-render (a door moved) must not take the scan field's focus. */
	if (focusKey) {
		const el = main.querySelector(`[data-focus="${focusKey}"]`);
		if (el) {
			el.focus();
			if (caret !== null && el.setSelectionRange)
				el.setSelectionRange(caret, caret);
		}
	}

	const shown = `${name}|${JSON.stringify(s?.screen ?? null)}`;
	if (shown !== app.shown) {
		app.shown = shown;
		announce(v.title);
		if (SUCCESS_SCREENS.has(name))
			sound.play('success');
		else if (name === 'close_door')
			sound.play('remind');
		else if (ERROR_SCREENS.has(name))
			sound.play('error');
		if (SPOKEN.has(name))
			sound.speak(name, i18n.current());
	}

	document.title = t('app.title');
	const lang = document.getElementById('lang');
	lang.textContent = t('lang.switch');
	lang.lang = i18n.current() === 'id' ? 'en' : 'id';
	const help = document.getElementById('help');
	help.textContent = t('help.button');
	help.hidden = !HELP_FROM.has(name);
	document.getElementById('conn').textContent = t('connecting');
	document.getElementById('brand').textContent = t('app.title');
}

/* The doors forced open now, as "3,7". */
function forcedOf(s) {
	return s ? s.lockers.filter((l) => l.state === 'forced')
		.map((l) => l.number).join() : '';
}

/* Doors that moved count as someone at the kiosk, as touches do. */
function doorsOf(s) {
	return s ? s.lockers.map((l) => l.door + l.state).join() : '';
}

function onState(s) {
	const prev = app.state;
	const name = s.screen.name;

	app.state = s;
	sound.setVolume(s.volume ?? 80);
	/* Staff hear a door forced open, as they see it in the message bar. */
	if (name === 'staff_menu' && prev && forcedOf(s) &&
	    forcedOf(s) !== forcedOf(prev))
		sound.play('error');
	if (!prev || JSON.stringify(prev.screen) !== JSON.stringify(s.screen)) {
		app.digits = '';
		/* Every book is taken unless the patron says otherwise. */
		app.leave = new Set();
		/* The answer to a code typed here: a wrong one has its screen. */
		app.wrongCode = app.codeSent && name === 'unknown_card';
		if (name !== 'idle') {
			app.local = null;
			app.codeSent = false;
		}
		if (name === 'lockers_open' || name === 'close_door') {
			if (app.flow !== 'pickup') {
				app.flow = 'pickup';
				app.flowLockers = [];
			}
			for (const n of s.screen.lockers)
				if (!app.flowLockers.includes(n))
					app.flowLockers.push(n);
			app.flowLockers.sort((a, b) => a - b);
		} else if (name === 'return_open') {
			app.flow = 'return';
		}
		if (name !== 'staff_menu')
			app.staff = freshStaff();
		/* A session ended: the next person starts in Indonesian. */
		if (name === 'idle' && prev && prev.screen.name !== 'idle') {
			app.flow = null;
			app.flowLockers = [];
			if (!app.keepLang)
				i18n.setLang(i18n.DEFAULT_LANG);
			app.keepLang = false;
		}
		activity();
	} else if (doorsOf(prev) !== doorsOf(s)) {
		activity();
	}
	render();
}

function onLink(up) {
	const el = document.getElementById('conn');

	if (up) {
		app.linked = true;
		clearTimeout(app.linkTimer);
		app.linkTimer = 0;
		el.hidden = true;
		return;
	}
	/* Down already: every failed retry must not restart the grace time. */
	if (!app.linked && (app.linkTimer || !el.hidden))
		return;
	app.linked = false;
	app.linkTimer = setTimeout(() => {
		app.linkTimer = 0;
		el.hidden = false;
	}, LINK_DOWN_GRACE_MS);
}

/*
 * Nobody touched the screen for idle_timeout_s: back to idle, in
 * Indonesian, ending lokerd's session if there is one.
 */
function idleTimeout() {
	const s = app.state;

	clearTimeout(app.warnTimer);
	document.getElementById('timeout-warn').hidden = true;
	if (!s)
		return;
	const busy = s.screen.name !== 'idle';
	app.local = null;
	app.help = false;
	app.digits = '';
	app.codeSent = false;
	app.staff = freshStaff();
	i18n.setLang(i18n.DEFAULT_LANG);
	if (busy)
		api.action({ action: 'cancel' });
	render();
}

/*
 * The last seconds before the time-out, on a screen that has something
 * to lose: a bar says how many are left; a touch (activity) ends it.
 */
function timeoutWarn() {
	const el = document.getElementById('timeout-warn');
	const left = Math.ceil((app.idleAt - performance.now()) / 1000);

	if (viewName() === 'idle' || viewName() === 'out_of_service' ||
	    left <= 0) {
		el.hidden = true;
		return;
	}
	el.textContent = t('timeout.warn', { n: left, count: left });
	if (el.hidden)
		sound.speak('timeout', i18n.current());
	el.hidden = false;
	app.warnTimer = setTimeout(timeoutWarn, 1000);
}

function activity() {
	clearTimeout(app.idleTimer);
	clearTimeout(app.warnTimer);
	document.getElementById('timeout-warn').hidden = true;
	/* Logged-in staff get lokerd's staff session time, not a patron's. */
	const staff = app.state?.screen.name === 'staff_menu';
	const s = (staff && app.state?.staff_idle_timeout_s) ||
		app.state?.idle_timeout_s || 60;
	/* Warned for the last third, 15 s at most. */
	const warn = Math.min(15, Math.floor(s / 3));
	app.idleAt = performance.now() + s * 1000;
	app.idleTimer = setTimeout(idleTimeout, s * 1000);
	app.warnTimer = setTimeout(timeoutWarn, (s - warn) * 1000);
}

function keypadOpts() {
	const name = viewName();

	if (name === 'code')
		return { value: app.digits, ...digitRule(app.state, 'code'),
			onChange: ctx.setDigits, onSubmit: ctx.submitCode,
			onCancel: ctx.cancel };
	if (name === 'pin' || name === 'wrong_pin' || name === 'staff_pin')
		return { value: app.digits, ...digitRule(app.state, 'pin'),
			onChange: ctx.setDigits, onSubmit: ctx.submitPin,
			onCancel: ctx.cancel };
	return null;
}

async function start() {
	try {
		await i18n.load();
	} catch {
		setTimeout(start, 2000);
		return;
	}
	for (const type of ['pointerdown', 'keydown', 'input'])
		document.addEventListener(type, () => {
			sound.unlock();
			activity();
		}, { capture: true, passive: true });
	document.addEventListener('keydown', (ev) => {
		/*
		 * Staff: a barcode scanner typing as a keyboard lands in the
		 * scan field wherever the focus was (a button a re-render took).
		 */
		if (viewName() === 'staff_menu' && ev.key.length === 1 &&
		    !(ev.target instanceof HTMLInputElement) &&
		    !ev.ctrlKey && !ev.altKey && !ev.metaKey) {
			document.getElementById('scan')?.focus();
			return;
		}
		const opts = keypadOpts();
		if (opts && !(ev.target instanceof HTMLInputElement) &&
		    !ev.ctrlKey && !ev.altKey && !ev.metaKey &&
		    keypadKey(ev, opts))
			ev.preventDefault();
	});
	document.getElementById('help').addEventListener('click', () => {
		app.help = true;
		render();
	});
	document.getElementById('lang').addEventListener('click', () => {
		i18n.setLang(i18n.current() === 'id' ? 'en' : 'id');
	});
	i18n.onChange(() => render());
	render();
	api.follow(onState, onLink);
}

start();
