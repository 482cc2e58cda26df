// SPDX-License-Identifier: GPL-2.0-or-later
// The staff menu: the kiosk's holds with load and take-out buttons, a scan
// field, "take out all expired", and the door grid where a locker is
// chosen to open, disable or enable. Every action acts as the staff member
// logged in on the screen; lokerd decides, we only show its answer.
import { h } from './dom.js';
import { t, list, current } from './i18n.js';
import { bank } from './bank.js';

/* What an action the staff member started has come to, from the state. */
function opMessage(op, s) {
	const holds = s.staff?.holds || [];
	const hold = op.hold ? holds.find((x) => x.id === op.hold) : null;
	const p = { n: op.locker, id: op.hold };
	const fault = s.lockers.find((l) => l.number === op.locker)?.fault;

	/* A door that did not open: its fault, not "open", is the news. */
	if (fault && fault !== 'none' &&
	    ['open', 'load', 'unload'].includes(op.kind))
		return t('staff.msg.fault', { ...p, fault: t(`fault.${fault}`) });
	switch (op.kind) {
	case 'load':
		if (hold && hold.state !== 'pending' && hold.locker === op.locker)
			return t('staff.msg.loaded', p);
		return t('staff.msg.load_open', p);
	case 'unload':
		return hold ? t('staff.msg.unload_open', p) :
			t('staff.msg.unloaded', p);
	case 'open':
		return t('staff.msg.open', p);
	case 'disable':
		return t('staff.msg.disabled', p);
	case 'enable':
		return t('staff.msg.enabled', p);
	}
	return '';
}

function holdRow(hold, ctx) {
	const pending = hold.state === 'pending';
	const titles = (hold.items || []).map((i) => i.title || i.barcode);

	return h('tr', { dataset: { hold: hold.id, state: hold.state } },
		h('th', { scope: 'row' }, hold.id,
			h('span', { class: 'sub' }, t(`size.${hold.size}`)),
			/* The server's reach: loading picks a low locker for it. */
			hold.reach === 'low' ? h('span', { class: 'sub' },
				t('staff.reach_low')) : null),
		h('td', { class: 'titles' }, titles.join(', ')),
		h('td', { class: 'hold-state' }, t(`hold.${hold.state}`),
			hold.locker ? h('span', { class: 'sub' },
				t('locker.label', { n: hold.locker })) : null),
		h('td', null, h('button', {
			type: 'button', class: 'btn btn-small ' +
				(pending ? 'btn-primary' : 'btn-secondary'),
			dataset: { do: pending ? 'load' : 'unload', hold: hold.id },
			'aria-label': t(pending ? 'staff.load_label' :
				'staff.unload_label', { id: hold.id }),
			onclick: () => pending ?
				ctx.staffDo({ action: 'load', hold: hold.id }) :
				ctx.staffDo({ action: 'unload', hold: hold.id }),
		}, t(pending ? 'staff.load' : 'staff.unload'))));
}

/* A hold's expiry as the library's clock shows it: "8 Des 2026 14.00". */
function when(iso) {
	return new Date(iso).toLocaleString(current() === 'id' ? 'id-ID' : 'en-GB',
		{ dateStyle: 'medium', timeStyle: 'short' });
}

/*
 * What is behind a door, for staff: its fault in full, what it means and
 * what to do, and the hold in it (patron's first name, expiry, titles).
 */
function lockerFacts(l, s) {
	const fault = l.fault && l.fault !== 'none' ? l.fault : null;
	const hold = l.hold ? (s.staff?.holds || []).find((x) => x.id === l.hold) :
		null;
	const facts = [];

	if (fault)
		facts.push(h('p', { class: 'fault-help', dataset: { fault } },
			h('strong', null, t(`fault.${fault}`)), ' ',
			t(`fault.${fault}.help`)));
	if (hold) {
		const rows = [
			['hold', hold.id],
			['patron', hold.patron || t('staff.fact.no_patron')],
			['expires', hold.expires_at ? when(hold.expires_at) :
				t('staff.fact.no_expiry')],
			['items', (hold.items || []).map((i) => i.title || i.barcode)
				.join(', ')],
		];
		facts.push(h('dl', { class: 'locker-facts' }, rows.map(([k, v]) =>
			h('div', { dataset: { fact: k } }, h('dt', null,
				t(`staff.fact.${k}`)), h('dd', null, v)))));
	}
	return facts;
}

/*
 * What the library system refused of what the server took (a checkout
 * over the loan limit, an expired member), newest first: the books are
 * gone, so staff follow it up in the library system. Nothing when none.
 */
function refusals(s) {
	const refused = s.staff?.refused || [];

	if (!refused.length)
		return null;
	return h('section', { class: 'staff-refused', 'aria-labelledby': 'refused-h' },
		h('h3', { id: 'refused-h' }, t('staff.refused', { n: refused.length })),
		h('ul', { class: 'refused-list', tabindex: '0', dataset: { scroll: '' },
			'aria-labelledby': 'refused-h' },
		refused.map((r) => h('li', { dataset: { refused: r.event } },
			h('strong', null, r.hold_id || r.type), ' ',
			r.text || r.code, ' ',
			h('span', { class: 'sub' }, `· ${when(r.at)}`)))));
}

function lockerPanel(ctx, s) {
	const n = ctx.staff.selected;
	const l = s.lockers.find((x) => x.number === n);

	if (!l)
		return h('p', { class: 'hint' }, t('staff.select_locker'));
	const fault = l.fault && l.fault !== 'none';
	const broken = l.disabled || fault;
	/* A fault is put right by enabling the locker: lokerd clears it. */
	const fix = fault ? 'acknowledge' : broken ? 'enable' : 'disable';
	return h('div', { class: 'locker-panel', dataset: { locker: n } },
		h('div', { class: 'actions' },
			h('span', { class: 'locker-name' }, t('locker.label', { n })),
			h('button', {
				type: 'button', class: 'btn btn-primary',
				dataset: { do: 'open' },
				onclick: () => ctx.staffDo({ action: 'open', locker: n }),
			}, t('staff.open')),
			h('button', {
				type: 'button', class: 'btn btn-secondary',
				dataset: { do: fix },
				onclick: () => ctx.staffDo({
					action: broken ? 'enable' : 'disable', locker: n }),
			}, t(`staff.${fix}`))),
		lockerFacts(l, s));
}

export function staffMenu(ctx, s) {
	const holds = s.staff?.holds || [];
	const expired = holds.filter((x) => x.state === 'expired');
	const server = s.online === null ? 'staff.no_server' :
		s.online ? 'staff.online' : 'staff.offline';
	const messages = ctx.staff.ops.map((op) => opMessage(op, s));
	/* A door forced open comes first, whatever else was said. */
	const forced = s.lockers.filter((l) => l.state === 'forced')
		.map((l) => l.number);
	const alarm = forced.length ? t('staff.msg.forced',
		{ lockers: list(forced), count: forced.length }) : '';
	const scan = h('input', {
		id: 'scan', type: 'text', class: 'scan-input', autocomplete: 'off',
		autocapitalize: 'off', spellcheck: 'false', maxlength: '64',
		placeholder: t('staff.scan'),
		dataset: { focus: 'scan' },
		'aria-describedby': 'staff-message',
		value: ctx.staff.scan,
		oninput: (ev) => { ctx.staff.scan = ev.target.value; },
	});

	return {
		title: t('staff.title'),
		tone: 'info',
		wide: true,
		body: [
			h('div', { class: 'staff-bar' },
				h('span', { class: ['server', s.online === false && 'server-off',
					s.online === null && 'server-none'] },
					t(server)),
				h('button', {
					type: 'button', class: 'btn btn-secondary btn-small',
					dataset: { do: 'logout' },
					onclick: () => ctx.cancel(),
				}, t('staff.logout'))),
			h('div', {
				id: 'staff-message',
				class: ['staff-message', (ctx.staff.error || alarm) &&
					'staff-error', alarm && 'staff-alarm'],
				role: 'status', 'aria-live': 'polite',
			}, [alarm, ctx.staff.error ? t(ctx.staff.error) :
				messages.join(' ')].filter(Boolean).join(' ')),
			h('div', { class: 'staff-cols' },
				h('section', { class: 'staff-holds',
					'aria-labelledby': 'holds-h' },
					h('h3', { id: 'holds-h' }, t('staff.holds')),
					h('form', {
						class: 'scan', onsubmit: (ev) => {
							ev.preventDefault();
							const text = ctx.staff.scan.trim();
							if (text)
								ctx.staffDo({ action: 'scan', text });
						},
					},
					h('label', { for: 'scan' }, t('staff.scan')),
					h('div', { class: 'scan-row' }, scan,
						h('button', { type: 'submit',
							class: 'btn btn-primary btn-small' },
						t('staff.scan_button')))),
					refusals(s),
					expired.length ? h('button', {
						type: 'button', class: 'btn btn-secondary btn-small',
						dataset: { do: 'unload-expired' },
						onclick: () => ctx.unloadAll(expired.map((x) => x.id)),
					}, t('staff.unload_expired', { n: expired.length })) :
						null,
					/* The list scrolls on its own, by touch or keys. */
					holds.length ? h('div', { class: 'table-wrap',
						tabindex: '0', 'aria-labelledby': 'holds-h',
						dataset: { scroll: '' } },
						h('table', { class: 'holds' },
							h('thead', null, h('tr', null,
								['id', 'items', 'state', 'action']
									.map((c) =>
									h('th', { scope: 'col' },
										t(`staff.col.${c}`))))),
							h('tbody', null,
								holds.map((x) => holdRow(x, ctx))))) :
						h('p', { class: 'hint' }, t('staff.holds_empty'))),
				h('section', { class: 'staff-doors',
					'aria-labelledby': 'doors-h' },
					h('h3', { id: 'doors-h' }, t('staff.doors')),
					/* Above the grid: in reach without scrolling. */
					lockerPanel(ctx, s),
					bank(s.lockers, {
						staff: true, selected: ctx.staff.selected,
						onSelect: (n) => ctx.select(n),
					}))),
		],
	};
}
