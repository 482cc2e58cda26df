// SPDX-License-Identifier: GPL-2.0-or-later
// lokerd's HTTP API for the screen (docs/webui.md).

/*
 * POSTs body as JSON to path; resolves to lokerd's reply object, or
 * {ok: false, errno: 'network'} when lokerd could not be reached or did
 * not answer with JSON.
 */
export async function post(path, body) {
	try {
		const r = await fetch(path, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(body),
			cache: 'no-store',
		});
		const reply = await r.json();
		return reply && typeof reply === 'object' ? reply :
			{ ok: false, errno: 'network' };
	} catch (e) {
		return { ok: false, errno: 'network', error: String(e) };
	}
}

export const action = (body) => post('/api/action', body);
export const sim = (body) => post('/api/sim', body);

export async function getState() {
	const r = await fetch('/api/state', { cache: 'no-store' });
	if (!r.ok)
		throw new Error(`api/state: HTTP ${r.status}`);
	return r.json();
}

/*
 * Follows GET /api/events: onState(state) at every change, onLink(true)
 * while the stream is up, onLink(false) while it is down. EventSource
 * reconnects by itself after a dropped connection, but gives up on a
 * refusal (the ninth stream's 503, a restarting lokerd): then we try again
 * ourselves, backing off up to 10 s.
 */
export function follow(onState, onLink) {
	let es = null;
	let delay_ms = 1000;
	let timer = null;

	function connect() {
		timer = null;
		es = new EventSource('/api/events');
		es.addEventListener('state', (ev) => {
			let s;

			try {
				s = JSON.parse(ev.data);
			} catch {
				return;
			}
			delay_ms = 1000;
			onLink(true);
			onState(s);
		});
		es.addEventListener('error', () => {
			onLink(false);
			if (es.readyState === EventSource.CLOSED && !timer) {
				es.close();
				timer = setTimeout(connect, delay_ms);
				delay_ms = Math.min(delay_ms * 2, 10000);
			}
		});
	}
	connect();
}
