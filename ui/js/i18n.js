// SPDX-License-Identifier: GPL-2.0-or-later
// The app's strings: ui/i18n/<lang>.json, Indonesian first. A value is a
// string with {name} placeholders, or {one, other} chosen by params.count.

export const DEFAULT_LANG = 'id';
export const LANGS = ['id', 'en'];

const dicts = {};
let lang = DEFAULT_LANG;
const listeners = [];

/* Loads every language's strings; the app cannot show anything without. */
export async function load() {
	await Promise.all(LANGS.map(async (l) => {
		const r = await fetch(`/i18n/${l}.json`, { cache: 'no-cache' });
		if (!r.ok)
			throw new Error(`i18n/${l}.json: HTTP ${r.status}`);
		dicts[l] = await r.json();
	}));
}

export function current() {
	return lang;
}

/* Switches the language; listeners re-render. */
export function setLang(l) {
	if (!LANGS.includes(l) || l === lang)
		return;
	lang = l;
	document.documentElement.lang = l;
	for (const f of listeners)
		f(l);
}

export function onChange(f) {
	listeners.push(f);
}

function fill(s, params) {
	return s.replace(/\{(\w+)\}/g, (m, k) =>
		params && params[k] !== undefined ? String(params[k]) : m);
}

/*
 * The string for key in the current language (falling back to Indonesian,
 * then to the key itself, so a missing string shows up, not a blank).
 */
export function t(key, params) {
	let v = dicts[lang]?.[key] ?? dicts[DEFAULT_LANG]?.[key] ?? key;

	if (typeof v === 'object') {
		const n = params?.count ?? params?.n ?? 0;
		const cat = new Intl.PluralRules(lang).select(n);
		v = v[cat] ?? v.other;
	}
	return fill(v, params);
}

/* "3", "3 dan 7", "3, 5, dan 7" in the current language. */
export function list(items) {
	const xs = items.map(String);

	if (xs.length <= 1)
		return xs.join('');
	if (xs.length === 2)
		return t('list.pair', { a: xs[0], b: xs[1] });
	return t('list.end', { a: xs.slice(0, -1).join(t('list.sep')),
		b: xs[xs.length - 1] });
}

/* A calendar date "2026-12-20" as "20 Desember 2026" / "20 December 2026". */
export function date(ymd) {
	return new Date(`${ymd}T00:00:00Z`).toLocaleDateString(
		lang === 'id' ? 'id-ID' : 'en-GB',
		{ day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}
