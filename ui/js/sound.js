// SPDX-License-Identifier: GPL-2.0-or-later
// Sound cues made with WebAudio: a rising two-note chime for success, a
// low double buzz for an error, three even notes for a reminder (close
// the door); and spoken prompts, rendered by espeak-ng when the package
// was built (ui/CMakeLists.txt), as speech/<lang>/<name>.wav. Both at the
// volume of [webui] volume.

let ctx = null;
let volume = 0.8;
let voice = null;	/* the prompt playing, cut short by the next */

function context() {
	if (!ctx) {
		const AC = window.AudioContext || window.webkitAudioContext;
		if (!AC)
			return null;
		ctx = new AC();
	}
	if (ctx.state === 'suspended')
		ctx.resume().catch(() => {});
	return ctx;
}

/*
 * Browsers start audio suspended until someone touches the page; the kiosk
 * unit allows autoplay, and any touch unlocks it elsewhere.
 */
export function unlock() {
	context();
}

function tone(c, at, freq, dur, type, volume) {
	const osc = c.createOscillator();
	const gain = c.createGain();

	osc.type = type;
	osc.frequency.setValueAtTime(freq, at);
	/* Ramps in and out: no clicks. */
	gain.gain.setValueAtTime(0.0001, at);
	gain.gain.exponentialRampToValueAtTime(volume, at + 0.015);
	gain.gain.exponentialRampToValueAtTime(0.0001, at + dur);
	osc.connect(gain).connect(c.destination);
	osc.start(at);
	osc.stop(at + dur + 0.02);
}

const cues = {
	success: [[660, 0, 0.16, 'sine'], [880, 0.14, 0.26, 'sine']],
	error: [[220, 0, 0.18, 'triangle'], [220, 0.24, 0.22, 'triangle']],
	remind: [[523, 0, 0.14, 'sine'], [523, 0.2, 0.14, 'sine'],
		[523, 0.4, 0.2, 'sine']],
};

/* Plays cue 'success', 'error' or 'remind'; notes it on <html data-cue>. */
export function play(name) {
	const root = document.documentElement;

	root.dataset.cue = name;
	root.dataset.cueCount = String(Number(root.dataset.cueCount || 0) + 1);
	const c = context();
	if (!c || volume <= 0)
		return;
	const t0 = c.currentTime + 0.01;
	for (const [freq, at, dur, type] of cues[name] || [])
		tone(c, t0 + at, freq, dur, type, 0.25 * volume);
}

/* lokerd's [webui] volume, 0 (silent) to 100. */
export function setVolume(percent) {
	volume = Math.min(100, Math.max(0, Number(percent) || 0)) / 100;
}

/*
 * Speaks prompt name ('lockers_open', 'timeout', ...) in lang, after the
 * cue; notes it on <html data-speech>. A prompt missing from the build
 * stays silent.
 */
export function speak(name, lang) {
	const root = document.documentElement;

	root.dataset.speech = `${lang}/${name}`;
	root.dataset.speechVolume = String(volume);
	root.dataset.speechCount = String(Number(root.dataset.speechCount || 0) + 1);
	voice?.pause();
	voice = null;
	if (volume <= 0 || typeof Audio === 'undefined')
		return;
	voice = new Audio(`/speech/${lang}/${name}.wav`);
	voice.volume = volume;
	/* After the cue's notes, not over them. */
	const v = voice;
	setTimeout(() => {
		if (voice === v)
			v.play().catch(() => {});
	}, 450);
}

