// SPDX-License-Identifier: GPL-2.0-or-later
// A picture of the locker bank from the state's lockers: columns of doors
// six units high, a small door one unit, medium two, large three, numbered
// down each column as printed on the doors.
import { h } from './dom.js';
import { t, list } from './i18n.js';

/* What a door is doing, for its label: alarm, forced, open, unlocking... */
export function doorStatus(l) {
	if (l.state === 'forced')
		return 'forced';
	if (l.state === 'unlocking')
		return 'unlocking';
	return l.door === 'open' ? 'open' : 'closed';
}

/*
 * opts.highlight: the lockers to point out (a patron's); the others are
 * drawn dim and hidden from screen readers.
 * opts.staff: every door is a button showing its state, fault, contents;
 * opts.onSelect(n) and opts.selected for the one chosen.
 */
export function bank(lockers, opts = {}) {
	const highlight = new Set(opts.highlight || []);
	const staff = !!opts.staff;
	const doors = lockers.map((l) => door(l, highlight.has(l.number), staff,
		opts));
	let label = t('bank.label');

	if (highlight.size)
		label += ': ' + t('locker.label', { n: list([...highlight]) });
	return h('div', {
		class: ['bank', staff && 'bank-staff', highlight.size && 'bank-focus'],
		role: 'group',
		'aria-label': label,
	}, doors);
}

function door(l, lit, staff, opts) {
	const status = doorStatus(l);
	const words = [t('locker.label', { n: l.number })];
	const tags = [];

	if (lit || staff)
		words.push(t(`door.${status}`));
	if (staff) {
		if (l.alarm)
			tags.push(t('door.alarm'));
		/* Short on the door, in full in the staff panel. */
		if (l.fault && l.fault !== 'none')
			tags.push(t(`fault.${l.fault}.short`));
		if (l.disabled)
			tags.push(t('locker.disabled'));
		if (l.hold)
			tags.push(l.hold);
		else if (l.occupied)
			tags.push(t('locker.occupied'));
		words.push(l.kind === 'return' ? t('kind.return') : '',
			...tags.filter((x) => x !== l.hold),
			l.hold ? t('staff.hold_in', { id: l.hold }) :
				l.occupied ? '' : t('locker.empty'));
	}
	const cls = [
		'door', `size-${l.size}`, `door-${status}`,
		lit && 'door-lit', l.kind === 'return' && 'door-return',
		l.disabled && 'door-disabled',
		l.fault && l.fault !== 'none' && 'door-fault',
		l.alarm && 'door-alarm', l.occupied && 'door-occupied',
		staff && opts.selected === l.number && 'door-selected',
	];
	const data = { locker: l.number, door: l.door, state: l.state };
	const body = [
		h('span', { class: 'door-number', 'aria-hidden': 'true' },
			String(l.number)),
		(lit || (staff && status !== 'closed')) && h('span', {
			class: 'door-status', 'aria-hidden': 'true' },
		t(lit && status === 'unlocking' ? 'door.pull' :
			`door.${status}`)),
		staff && tags.length > 0 && h('span', { class: 'door-tags',
			'aria-hidden': 'true' }, tags.join(' · ')),
	];
	/*
	 * A staff door's name is what it shows, in the same order, with the
	 * words a screen reader needs besides: no aria-label that could say
	 * something else than the button does.
	 */
	if (staff) {
		const sr = (text) => h('span', { class: 'sr-only' }, text);
		return h('button', {
			type: 'button', class: cls, dataset: data,
			'aria-pressed': opts.selected === l.number ? 'true' : 'false',
			onclick: () => opts.onSelect?.(l.number),
		}, sr(t('locker.word') + ' '),
		h('span', { class: 'door-number' }, String(l.number)),
		sr(', '),
		h('span', { class: status === 'closed' ? 'sr-only' :
			'door-status' }, t(`door.${status}`)),
		l.kind === 'return' ? sr(', ' + t('kind.return')) : null,
		/*
		 * The first tag (alarm, fault, disabled, hold) fits on the door
		 * whole; the others are for screen readers, the panel shows all.
		 */
		tags.length ? h('span', { class: 'door-tags' },
			sr(', '), tags[0],
			tags.length > 1 ? sr(', ' + tags.slice(1).join(', ')) : null) :
			null,
		!l.hold && !l.occupied ? sr(', ' + t('locker.empty')) : null);
	}
	return h('div', {
		class: cls, dataset: data,
		role: lit ? 'img' : null,
		'aria-label': lit ? words.join(', ') : null,
		'aria-hidden': lit ? null : 'true',
	}, body);
}
