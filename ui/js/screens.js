// SPDX-License-Identifier: GPL-2.0-or-later
// The patron's screens, one function per screen name of docs/webui.md (and
// the app's own: connecting, code, out_of_service). Each returns what to
// show: {title, body: [nodes], tone: 'info'|'success'|'error'|'warn'}, and
// maybe figure (a keypad, the locker bank: beside the words on short panels,
// below them on tall ones) and end (the buttons that close the screen). The
// title is the heading and what a screen reader announces.
import { h } from './dom.js';
import { t, list, date } from './i18n.js';
import { bank } from './bank.js';
import { keypad } from './keypad.js';

/*
 * How many digits a pickup code (kind 'code') or PIN ('pin') has: lokerd's
 * rule, from its state ({min, max}), so the keypad never takes what lokerd
 * refuses.
 */
export function digitRule(state, kind) {
	return state[`${kind}_digits`];
}

const para = (text) => h('p', { class: 'lead' }, text);

/*
 * What lokerd says is in the patron's lockers: each title, and the day it
 * is lent until when the library system sent one. A long list scrolls on
 * its own, by touch or keys.
 */
function bookList(items) {
	if (!items?.length)
		return null;
	return h('ul', {
		class: 'picked-up', tabindex: '0', dataset: { scroll: '' },
		'aria-label': t('thank_you.items'),
	}, ...items.map((i) => h('li', {}, h('span', { class: 'book-title' }, i.title),
		i.due ? h('span', { class: 'book-due' },
			t('items.due', { date: date(i.due) })) : null)));
}

/*
 * The barcodes scanned at the kiosk's scanner into the open return door,
 * as lokerd lists them for the server: what the patron said went in.
 */
function scannedList(barcodes) {
	if (!barcodes?.length)
		return null;
	return h('div', { class: 'scanned' },
		h('h2', { class: 'scanned-title' }, t('return_open.scanned',
			{ n: barcodes.length, count: barcodes.length })),
		h('ul', {
			class: 'picked-up', tabindex: '0', dataset: { scroll: '' },
			'aria-label': t('return_open.scanned', { n: barcodes.length,
				count: barcodes.length }),
		}, ...barcodes.map((b) => h('li', {}, h('span', { class: 'book-title' }, b)))));
}

/* A card held to the reader: the idle and return screens' picture. */
const tapArt = () => h('div', { class: 'tap-art', 'aria-hidden': 'true' },
	h('div', { class: 'tap-card' }),
	h('div', { class: 'tap-waves' }),
	h('div', { class: 'tap-reader' }));

function doneButton(ctx) {
	return h('button', {
		type: 'button', class: 'btn btn-primary btn-done',
		onclick: () => ctx.cancel(),
	}, t('done'));
}

/* An error screen: what happened, what to do instead, and a way back. */
function problem(key, ctx, params) {
	return {
		title: t(`${key}.title`, params),
		tone: 'error',
		body: [para(t(`${key}.body`, params))],
		end: h('button', {
			type: 'button', class: 'btn btn-primary btn-done',
			onclick: () => ctx.cancel(),
		}, t('back')),
	};
}

export function codeKeypad(ctx) {
	const { min, max } = digitRule(ctx.state, 'code');

	return keypad({
		value: ctx.digits, min, max, masked: false,
		label: t('code.label'),
		onChange: (v) => ctx.setDigits(v),
		onSubmit: (v) => ctx.submitCode(v),
		onCancel: () => ctx.cancel(),
	});
}

export function pinKeypad(ctx) {
	const { min, max } = digitRule(ctx.state, 'pin');

	return keypad({
		value: ctx.digits, min, max, masked: true,
		label: t('pin.label'),
		onChange: (v) => ctx.setDigits(v),
		onSubmit: (v) => ctx.submitPin(v),
		onCancel: () => ctx.cancel(),
	});
}

/* "Loker 2 dan 6", never "6 dan 2": lokerd lists them as it opened them. */
function lockerParams(lockers) {
	const sorted = [...lockers].sort((a, b) => a - b);

	return { lockers: list(sorted), count: sorted.length };
}

/*
 * What the patron must do now, large: pull the doors still unlocking (a
 * door unlocks for a few seconds only), or take the books.
 */
function doorCall(s) {
	const mine = new Set(s.screen.lockers);
	const pull = s.lockers.filter((l) => mine.has(l.number) &&
		l.state === 'unlocking').map((l) => l.number);

	return h('p', { class: 'door-call', role: 'status' }, pull.length ?
		t('lockers_open.pull', lockerParams(pull)) :
		t('lockers_open.take'));
}

/*
 * The patron's books on choose_books: one large switch per book, all on
 * (taken) at first; a touch leaves a book in the locker for later. The
 * locker's number heads the books of each hold.
 */
function chooseList(ctx, holds) {
	return h('div', {
		class: 'choose', tabindex: '0', dataset: { scroll: '' },
		'aria-label': t('choose_books.list'),
	}, ...holds.map((x) => h('section', { class: 'choose-hold',
		dataset: { hold: x.id } },
	h('h2', { class: 'choose-locker' }, t('choose_books.locker',
		{ locker: x.locker })),
	...x.items.map((i) => {
		const take = !ctx.leaving(x.id, i.barcode);

		return h('button', {
			type: 'button', role: 'switch',
			class: `book-pick ${take ? 'book-take' : 'book-leave'}`,
			'aria-checked': take ? 'true' : 'false',
			dataset: { barcode: i.barcode },
			onclick: () => ctx.toggleBook(x.id, i.barcode),
		}, h('span', { class: 'pick-mark', 'aria-hidden': 'true' },
			take ? '✓' : ''),
		h('span', { class: 'book-title' }, i.title || i.barcode),
		h('span', { class: 'pick-state' },
			t(take ? 'choose_books.take' : 'choose_books.leave')));
	}))));
}

export const views = {
	connecting: () => ({
		title: t('connecting.title'),
		tone: 'info',
		body: [para(t('connecting.body')),
			h('div', { class: 'spinner', 'aria-hidden': 'true' })],
	}),

	out_of_service: () => ({
		title: t('out_of_service.title'),
		tone: 'warn',
		body: [para(t('out_of_service.body'))],
	}),

	idle: (ctx) => ({
		title: t('idle.title'),
		tone: 'info',
		body: [
			tapArt(),
			para(t('idle.body')),
			h('p', { class: 'or', 'aria-hidden': 'true' }, t('idle.or')),
		],
		end: h('div', { class: 'actions' },
			h('button', {
				type: 'button', class: 'btn btn-primary',
				dataset: { action: 'code' },
				onclick: () => ctx.go('code'),
			}, t('idle.code')),
			h('button', {
				type: 'button', class: 'btn btn-secondary',
				dataset: { action: 'return' },
				onclick: () => ctx.send({ action: 'return' }),
			}, t('idle.return'))),
	}),

	/* Not a screen of lokerd's: idle, with the card reader out of order. */
	reader_down: (ctx) => ({
		title: t('reader_down.title'),
		tone: 'warn',
		body: [para(t('reader_down.body'))],
		end: h('div', { class: 'actions' },
			h('button', {
				type: 'button', class: 'btn btn-primary',
				dataset: { action: 'code' },
				onclick: () => ctx.go('code'),
			}, t('idle.code'))),
	}),

	/*
	 * Not a screen of lokerd's: whom to ask, from [webui] in lokerd.conf
	 * (library_name, help_phone, help_whatsapp, opening_hours).
	 */
	help: (ctx, s) => {
		const c = s.help || {};
		const rows = [['phone', c.phone], ['whatsapp', c.whatsapp],
			['hours', c.hours]].filter(([, v]) => v);

		return {
			title: t('help.title'),
			tone: 'info',
			body: [
				c.library ? h('p', { class: 'lead help-library' }, c.library) :
					null,
				para(t('help.body')),
				rows.length ? h('dl', { class: 'help-facts' }, rows.map(([k, v]) =>
					h('div', { dataset: { help: k } }, h('dt', null, t(`help.${k}`)),
						h('dd', null, v)))) : null,
			],
			end: h('button', {
				type: 'button', class: 'btn btn-primary btn-done',
				dataset: { action: 'help-back' },
				onclick: () => ctx.closeHelp(),
			}, t('back')),
		};
	},

	code: (ctx) => ({
		title: t('code.title'),
		tone: 'info',
		body: [para(t('code.body'))],
		figure: codeKeypad(ctx),
	}),

	pin: (ctx, s) => ({
		title: t('pin.title'),
		tone: 'info',
		body: [
			para(t('pin.body')),
			s.screen.attempts_left ? h('p', { class: 'attempts' },
				t('pin.attempts', { n: s.screen.attempts_left,
					count: s.screen.attempts_left })) : null,
		],
		figure: pinKeypad(ctx),
	}),

	wrong_pin: (ctx, s) => ({
		title: t('wrong_pin.title', { n: s.screen.attempts_left,
			count: s.screen.attempts_left }),
		tone: 'error',
		body: [para(t('wrong_pin.body'))],
		figure: pinKeypad(ctx),
	}),

	staff_pin: (ctx) => ({
		title: t('staff_pin.title'),
		tone: 'info',
		body: [para(t('staff_pin.body'))],
		figure: pinKeypad(ctx),
	}),

	unknown_card: (ctx) => problem('unknown_card', ctx),

	/* lokerd's unknown_card, for a code typed here: back to the keypad. */
	wrong_code: (ctx) => ({
		title: t('wrong_code.title'),
		tone: 'error',
		body: [para(t('wrong_code.body'))],
		end: h('div', { class: 'actions' },
			h('button', {
				type: 'button', class: 'btn btn-primary',
				dataset: { action: 'retry-code' },
				onclick: () => ctx.retryCode(),
			}, t('wrong_code.retry')),
			h('button', {
				type: 'button', class: 'btn btn-secondary btn-done',
				onclick: () => ctx.cancel(),
			}, t('back'))),
	}),
	no_holds: (ctx) => problem('no_holds', ctx),
	locked_out: (ctx) => problem('locked_out', ctx),
	pin_not_set: (ctx) => problem('pin_not_set', ctx),
	bad_credential: (ctx) => problem('bad_credential', ctx),
	return_full: (ctx) => problem('return_full', ctx),

	locker_fault: (ctx, s) => {
		const v = problem('locker_fault', ctx,
			lockerParams(s.screen.lockers));
		v.figure = bank(s.lockers, { highlight: s.screen.lockers });
		return v;
	},

	lockers_open: (ctx, s) => ({
		title: t('lockers_open.title', lockerParams(s.screen.lockers)),
		tone: 'success',
		pre: s.screen.patron_name ? h('p', { class: 'hello' },
			t('lockers_open.hello', { name: s.screen.patron_name })) :
			null,
		body: [doorCall(s),
			bookList(s.screen.items) ?? para(t('lockers_open.body'))],
		figure: bank(s.lockers, { highlight: s.screen.lockers }),
	}),

	choose_books: (ctx, s) => {
		const holds = s.screen.holds || [];
		const all = holds.reduce((n, x) => n + x.items.length, 0);
		const n = all - ctx.leavingCount();

		return {
			title: t('choose_books.title'),
			tone: 'info',
			pre: s.screen.patron_name ? h('p', { class: 'hello' },
				t('lockers_open.hello', { name: s.screen.patron_name })) :
				null,
			body: [para(t('choose_books.body')), chooseList(ctx, holds)],
			end: h('div', { class: 'actions' },
				h('button', {
					type: 'button', class: 'btn btn-primary',
					dataset: { action: 'pickup' }, disabled: n === 0,
					onclick: () => ctx.pickup(),
				}, n === 0 ? t('choose_books.none') :
					t('choose_books.open', { n, count: n })),
				h('button', {
					type: 'button', class: 'btn btn-secondary btn-cancel',
					onclick: () => ctx.cancel(),
				}, t('cancel'))),
		};
	},

	close_door: (ctx, s) => ({
		title: t('close_door.title', lockerParams(s.screen.lockers)),
		tone: 'warn',
		body: [para(t('close_door.body'))],
		figure: bank(s.lockers, { highlight: s.screen.lockers }),
	}),

	thank_you: (ctx, s) => {
		let text = t('thank_you.generic');

		if (ctx.flow === 'return')
			text = t('thank_you.return');
		else if (ctx.flow === 'pickup' && ctx.flowLockers.length)
			text = t('thank_you.pickup', lockerParams(ctx.flowLockers));
		return {
			title: t('thank_you.title'),
			tone: 'success',
			body: [
				para(text),
				bookList(s.screen.items),
			],
			end: doneButton(ctx),
		};
	},

	return_identify: (ctx) => ({
		title: t('return_identify.title'),
		tone: 'info',
		body: [
			tapArt(),
			para(t('return_identify.body')),
		],
		end: h('button', {
			type: 'button', class: 'btn btn-secondary btn-cancel',
			onclick: () => ctx.cancel(),
		}, t('cancel')),
	}),

	return_open: (ctx, s) => ({
		title: t('return_open.title', lockerParams(s.screen.lockers)),
		tone: 'success',
		body: [para(t('return_open.body')), scannedList(s.screen.scanned)],
		figure: bank(s.lockers, { highlight: s.screen.lockers }),
	}),
};
