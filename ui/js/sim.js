// SPDX-License-Identifier: GPL-2.0-or-later
// The simulator panel (/sim, only when lokerd runs on simulated hardware):
// tap sample cards, scan a barcode, open and close each door, through
// POST /api/sim; the doors come from the state's lockers, live.
import { h, replace } from './dom.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';
import * as api from './api.js';
import { doorStatus } from './bank.js';

/* The demo's sample cards (tools/demo). */
const CARDS = [
	['sim.card_patron', 'uid:04A1B2C3D4E5F6'],
	['sim.card_patron2', 'card:M0002'],
	['sim.card_staff', 'card:STAFF-01'],
	['sim.card_unknown', 'uid:0BADC0FFEE0001'],
];

const sim = { state: null, reply: '', credential: '', scan: '' };

async function call(body) {
	const r = await api.sim(body);
	sim.reply = JSON.stringify(r);
	render();
	return r;
}

function field(id, key, labelKey, buttonKey, submit) {
	return h('form', {
		class: 'sim-form', onsubmit: (ev) => {
			ev.preventDefault();
			const v = sim[key].trim();
			if (v)
				submit(v);
		},
	},
	h('label', { for: id }, t(labelKey)),
	h('div', { class: 'sim-row' },
		h('input', {
			id, type: 'text', class: 'scan-input', autocomplete: 'off',
			spellcheck: 'false', value: sim[key], dataset: { focus: id },
			oninput: (ev) => { sim[key] = ev.target.value; },
		}),
		h('button', { type: 'submit', class: 'btn btn-primary' },
			t(buttonKey))));
}

function door(l) {
	const status = doorStatus(l);
	const open = l.door === 'open';

	return h('div', {
		class: ['sim-door', `sim-door-${status}`],
		dataset: { locker: l.number, door: l.door, state: l.state },
	},
	h('span', null, `${l.number} · ${t(`door.${status}`)}`),
	h('button', {
		type: 'button', class: 'btn btn-small btn-secondary',
		dataset: { sim: open ? 'close' : 'open', locker: l.number },
		'aria-label': t(open ? 'sim.close_door_label' : 'sim.open_door_label',
			{ n: l.number }),
		onclick: () => call({ action: 'door', locker: l.number,
			open: !open }),
	}, t(open ? 'sim.close_door' : 'sim.open_door')));
}

function render() {
	const s = sim.state;
	const main = document.getElementById('sim');
	const active = document.activeElement?.dataset?.focus;

	document.title = t('sim.title');
	document.getElementById('brand').textContent = t('sim.title');
	document.getElementById('kiosk-link').textContent = t('sim.kiosk');
	document.getElementById('conn').textContent = t('connecting');
	const lang = document.getElementById('lang');
	lang.textContent = t('lang.switch');
	lang.lang = i18n.current() === 'id' ? 'en' : 'id';

	replace(main,
		h('p', { class: 'sim-screen', dataset: { testid: 'sim-screen' } },
			s ? t('sim.screen', { name: s.screen.name }) :
				t('connecting')),
		h('section', null,
			h('h2', null, t('sim.cards')),
			h('div', { class: 'actions' }, CARDS.map(([key, cred]) =>
				h('button', {
					type: 'button', class: 'btn btn-primary',
					dataset: { card: cred }, title: cred,
					onclick: () => call({ action: 'tap', credential: cred }),
				}, t(key)))),
			h('p', { class: 'sim-secrets' },
				t('sim.secrets', { pin: '2468', code: '482913' })),
			field('credential', 'credential', 'sim.credential', 'sim.tap',
				(v) => call({ action: 'tap', credential: v })),
			field('barcode', 'scan', 'sim.scan_label', 'sim.scan',
				(v) => call({ action: 'scan', text: v }))),
		h('section', null,
			h('h2', null, t('sim.doors')),
			h('div', { class: 'sim-doors' }, (s?.lockers || []).map(door))),
		h('section', { class: 'sim-reply', 'aria-label': t('sim.reply') },
			sim.reply));
	if (active)
		main.querySelector(`[data-focus="${active}"]`)?.focus();
}

async function start() {
	try {
		await i18n.load();
	} catch {
		setTimeout(start, 2000);
		return;
	}
	document.getElementById('lang').addEventListener('click', () =>
		i18n.setLang(i18n.current() === 'id' ? 'en' : 'id'));
	i18n.onChange(render);
	render();
	api.follow((s) => { sim.state = s; render(); }, (up) => {
		document.getElementById('conn').hidden = up;
	});
}

start();
