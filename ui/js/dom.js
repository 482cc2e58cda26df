// SPDX-License-Identifier: GPL-2.0-or-later
// Building DOM without innerHTML: text from lokerd (names, titles) is never
// parsed as markup.

/*
 * h('button', {class: 'big', onclick: f, 'aria-label': 'x'}, 'text', child)
 * Props: class (string or array), dataset (object), on<event> (listener),
 * text (textContent); anything else is an attribute (true: present,
 * false/null/undefined: absent).
 */
export function h(tag, props, ...children) {
	const el = document.createElement(tag);

	for (const [k, v] of Object.entries(props || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'class')
			el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'text')
			el.textContent = v;
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false)
			continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

/* Replaces el's children with the given nodes. */
export function replace(el, ...nodes) {
	el.replaceChildren(...nodes.flat(Infinity).filter(Boolean));
}
