// SPDX-License-Identifier: GPL-2.0-or-later
// The number keypad of the PIN and pickup-code screens. The digits live in
// the caller's state so a re-render (a door moved) does not lose them.
import { h } from './dom.js';
import { t } from './i18n.js';

/*
 * opts: value (digits so far), max, min, masked, label (what is typed),
 * onChange(value), onSubmit(value), onCancel().
 */
export function keypad(opts) {
	const { value, max, min, masked } = opts;
	const shown = masked ? '●'.repeat(value.length) : value;
	const press = (d) => {
		if (value.length < max)
			opts.onChange(value + d);
	};
	const key = (d) => h('button', {
		type: 'button', class: 'key', dataset: { key: d },
		onclick: () => press(d),
	}, d);
	const ready = value.length >= min;
	const entry = h('div', {
		class: ['entry', masked && 'entry-masked'],
		role: 'status',
		'aria-label': `${opts.label}: ${value.length ?
			(masked ? t('keypad.entered', { count: value.length, n: value.length }) :
				value.split('').join(' ')) :
			t('keypad.empty')}`,
		dataset: { testid: 'entry' },
	}, h('span', { class: 'entry-text', 'aria-hidden': 'true' },
		shown || ' '));

	return h('div', { class: 'keypad-wrap' },
		h('div', { class: 'entry-label', 'aria-hidden': 'true' },
			opts.label),
		entry,
		h('div', { class: 'keypad', role: 'group', 'aria-label': opts.label },
			['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(key),
			h('button', {
				type: 'button', class: 'key key-delete',
				dataset: { key: 'delete' },
				'aria-label': t('keypad.delete_label'),
				onclick: () => opts.onChange(value.slice(0, -1)),
			}, t('keypad.delete')),
			key('0'),
			h('button', {
				type: 'button', class: 'key key-ok',
				dataset: { key: 'ok' },
				disabled: !ready,
				onclick: () => ready && opts.onSubmit(value),
			}, t('ok'))),
		h('button', {
			type: 'button', class: 'btn btn-secondary btn-cancel',
			onclick: () => opts.onCancel(),
		}, t('cancel')));
}

/*
 * A physical keyboard (or a USB keypad) works too: digits, Backspace,
 * Enter, Escape. Returns true when the key was used.
 */
export function keypadKey(ev, opts) {
	const { value, max, min } = opts;

	if (/^[0-9]$/.test(ev.key)) {
		if (value.length < max)
			opts.onChange(value + ev.key);
		return true;
	}
	if (ev.key === 'Backspace') {
		opts.onChange(value.slice(0, -1));
		return true;
	}
	if (ev.key === 'Enter') {
		if (value.length >= min)
			opts.onSubmit(value);
		return true;
	}
	if (ev.key === 'Escape') {
		opts.onCancel();
		return true;
	}
	return false;
}
