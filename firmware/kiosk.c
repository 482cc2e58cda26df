/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kiosk core: sessions at the screen, a supervisor for every door. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiosk.h"

#define KIOSK_PULSE_MS_MAX     10000
#define ARRAY_SIZE(a)	       (sizeof(a) / sizeof((a)[0]))
#define ACTOR_SERVICE	       "service"
#define ACTOR_ROLE_PATRON      "patron"
#define ACTOR_ROLE_STAFF       "staff"
#define CREDENTIAL_CODE_PREFIX "code:"

/* What the core believes about one timer, so a stale firing is ignored. */
struct timer_slot {
	bool armed;
	uint64_t at_usec; /* a firing before this was meant for an older arm */
};

struct locker {
	struct kiosk_locker_config config;
	bool disabled;
	enum kiosk_fault fault;
	unsigned returns;
	bool door_open; /* last sensor reading */
	enum kiosk_door_state door_state;
	/* The opening under way: what for, who asked, which hold. */
	enum kiosk_purpose purpose;
	unsigned attempt;
	char actor[KIOSK_ACTOR_MAX + 1];
	char hold_id[KIOSK_HOLD_ID_MAX + 1];
	bool open_at_pulse; /* read open when pulsed, so taken as opened */
	bool given_up;	    /* its patron cancelled: no retry, no fault */
	bool interrupted;   /* saved with an opening under way: START faults */
	bool alarm_left_open;
	bool alarm_forced_open;
	/* Books scanned into the last return opening (v1.1, issue 20). */
	char return_items[KIOSK_RETURN_ITEMS_MAX][KIOSK_BARCODE_MAX + 1];
	unsigned n_return_items;
	/* A partial pickup's books left in the locker (v1.1, issue 20). */
	char left_items[KIOSK_HOLD_ITEMS_MAX][KIOSK_BARCODE_MAX + 1];
	unsigned n_left;
	struct timer_slot confirm_timer;
	struct timer_slot left_open_timer;
};

enum session_state {
	SESSION_STATE_IDLE,
	SESSION_STATE_PATRON_PIN,  /* holds matched, patron PIN keypad shown */
	SESSION_STATE_STAFF_PIN,   /* staff card seen, staff PIN keypad shown */
	SESSION_STATE_STAFF,	   /* staff logged in */
	SESSION_STATE_RETURN_CARD, /* "tap your card to return books" */
	SESSION_STATE_CHOOSE,	   /* holds matched, which books to take */
	SESSION_STATE_DOORS, /* waiting for the doors it opened to close */
	SESSION_STATE_DONE,  /* showing its last screen, then idle */
};

/* The one person at the screen. */
struct session {
	enum session_state state;
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1]; /* whose session it is */
	unsigned n_waiting;
	unsigned waiting[KIOSK_SESSION_LOCKERS_MAX]; /* opened, not closed */
	unsigned n_failed;
	unsigned failed[KIOSK_SESSION_LOCKERS_MAX]; /* never opened */
	/* CHOOSE: the lockers of the holds the patron may open. */
	unsigned n_choice;
	unsigned choice[KIOSK_SESSION_LOCKERS_MAX];
	struct timer_slot timer;
};

/* Matched LOADED holds of one credential, by the lockers they are in. */
struct match {
	bool known; /* some hold, in any state, names the credential */
	unsigned n;
	unsigned lockers[KIOSK_SESSION_LOCKERS_MAX];
};

struct kiosk {
	struct kiosk_config config; /* .site_key is site_key, .lockers NULL */
	uint8_t *site_key;
	struct locker lockers[KIOSK_LOCKERS_MAX];
	struct kiosk_hold *holds; /* [max_holds], in the order they came */
	unsigned n_holds;
	struct kiosk_staff staff[KIOSK_STAFF_MAX];
	unsigned n_staff;
	int64_t code_budget_usec; /* KIOSK_GUARD_KIND_CODES until_usec */
	struct session session;
	struct timer_slot sweep_timer;
	struct kiosk_screen_info screen;
	/* The session's PIN being checked off the loop, if checking. */
	struct kiosk_pin_check check;
	bool checking;
	uint64_t last_check_id;
	bool started;
	bool partial_pickup; /* patrons may take part of a hold */
	/* The input being handled: its clocks and where its actions go. */
	uint64_t now_usec;
	int64_t wall_usec;
	struct kiosk_actions *out;
	bool overflow;
	/* Its server command, for the first record it makes, or "". */
	char command[KIOSK_COMMAND_ID_MAX + 1];
};

static void copy(char *dst, size_t size, const char *src)
{
	size_t len = strnlen(src, size - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool string_fits(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static uint64_t after(uint64_t now_usec, uint64_t delay_usec)
{
	return now_usec > UINT64_MAX - delay_usec ? UINT64_MAX :
						    now_usec + delay_usec;
}

static void actor_of(char ret[KIOSK_ACTOR_MAX + 1], const char *role,
		     const char *hmac)
{
	snprintf(ret, KIOSK_ACTOR_MAX + 1, "%s:%s", role, hmac);
}

static bool locker_valid(const struct kiosk *k, unsigned n)
{
	return n >= 1 && n <= k->config.n_lockers;
}

/*
 * Callers have checked n (locker_valid() or their own loop): the bound is
 * said here for the compiler, which otherwise warns of a locker 0, and for
 * UBSan, which catches a caller that did not check.
 */
static struct locker *locker_get(struct kiosk *k, unsigned n)
{
	if (n < 1 || n > KIOSK_LOCKERS_MAX)
		__builtin_unreachable();
	return &k->lockers[n - 1];
}

static struct kiosk_hold *hold_find(const struct kiosk *k, const char *id)
{
	unsigned i;

	for (i = 0; i < k->n_holds; i++)
		if (!strcmp(k->holds[i].id, id))
			return &k->holds[i];
	return NULL;
}

/* The LOADED or EXPIRED hold in locker n, or NULL. */
static struct kiosk_hold *locker_hold(const struct kiosk *k, unsigned n)
{
	unsigned i;

	for (i = 0; i < k->n_holds; i++)
		if (k->holds[i].locker == n)
			return &k->holds[i];
	return NULL;
}

static void hold_drop(struct kiosk *k, struct kiosk_hold *h)
{
	size_t i = (size_t)(h - k->holds);

	memmove(h, h + 1, (k->n_holds - i - 1) * sizeof(*h));
	k->n_holds--;
}

static struct kiosk_staff *staff_find(struct kiosk *k, const char *hmac)
{
	unsigned i;

	for (i = 0; i < k->n_staff; i++)
		if (!strcmp(k->staff[i].credential_hmac, hmac))
			return &k->staff[i];
	return NULL;
}

/* ---- actions ---- */

static struct kiosk_action *push(struct kiosk *k, enum kiosk_action_type type)
{
	struct kiosk_action *a;

	/*
	 * KIOSK_ACTIONS_MAX is sized so that this cannot happen; if that
	 * sum is ever wrong the batch fails rather than overrunning.
	 */
	if (k->out->n >= KIOSK_ACTIONS_MAX) {
		k->overflow = true;
		return NULL;
	}
	a = &k->out->a[k->out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

static struct kiosk_record *record(struct kiosk *k, enum kiosk_record_type type,
				   unsigned locker, const char *hold_id,
				   const char *actor)
{
	struct kiosk_action *a = push(k, KIOSK_ACTION_RECORD);

	if (!a)
		return NULL;
	a->record.type = type;
	a->record.locker = locker;
	copy(a->record.hold_id, sizeof(a->record.hold_id), hold_id);
	copy(a->record.actor, sizeof(a->record.actor), actor);
	/* Only the first: a retry pulse later is not the command again. */
	copy(a->record.command, sizeof(a->record.command), k->command);
	k->command[0] = '\0';
	return &a->record;
}

static struct timer_slot *
timer_slot(struct kiosk *k, enum kiosk_timer_kind kind, unsigned locker)
{
	switch (kind) {
	case KIOSK_TIMER_KIND_SESSION:
		return locker == 0 ? &k->session.timer : NULL;
	case KIOSK_TIMER_KIND_EXPIRY_SWEEP:
		return locker == 0 ? &k->sweep_timer : NULL;
	case KIOSK_TIMER_KIND_DOOR_CONFIRM:
		return locker_valid(k, locker) ?
			       &locker_get(k, locker)->confirm_timer :
			       NULL;
	case KIOSK_TIMER_KIND_DOOR_LEFT_OPEN:
		return locker_valid(k, locker) ?
			       &locker_get(k, locker)->left_open_timer :
			       NULL;
	}
	return NULL;
}

static void timer_arm(struct kiosk *k, enum kiosk_timer_kind kind,
		      unsigned locker, uint64_t delay_usec)
{
	struct timer_slot *slot = timer_slot(k, kind, locker);
	struct kiosk_action *a;

	slot->armed = true;
	slot->at_usec = after(k->now_usec, delay_usec);
	a = push(k, KIOSK_ACTION_TIMER_ARM);
	if (!a)
		return;
	a->timer.kind = kind;
	a->timer.locker = locker;
	a->at_usec = slot->at_usec;
}

static void timer_disarm(struct kiosk *k, enum kiosk_timer_kind kind,
			 unsigned locker)
{
	struct timer_slot *slot = timer_slot(k, kind, locker);
	struct kiosk_action *a;

	if (!slot->armed)
		return;
	slot->armed = false;
	a = push(k, KIOSK_ACTION_TIMER_DISARM);
	if (!a)
		return;
	a->timer.kind = kind;
	a->timer.locker = locker;
}

static struct kiosk_screen_info screen_info(enum kiosk_screen screen,
					    const unsigned *lockers,
					    unsigned n_lockers)
{
	struct kiosk_screen_info s = { .screen = screen,
				       .n_lockers = n_lockers };

	if (n_lockers)
		memcpy(s.lockers, lockers, n_lockers * sizeof(*lockers));
	return s;
}

static void show(struct kiosk *k, const struct kiosk_screen_info *screen)
{
	struct kiosk_action *a;

	k->screen = *screen;
	a = push(k, KIOSK_ACTION_SCREEN);
	if (a)
		a->screen = *screen;
}

/* ---- sessions ---- */

/* A PIN check under way is of no use any more: its answer is ignored. */
static void check_drop(struct kiosk *k)
{
	k->checking = false;
	/*
	 * By member: GCC 12 with -fsanitize=address at -O2 takes &k->check
	 * for its first member here and fails the build on a false
	 * "writing 352 bytes into a region of size 8".
	 */
	explicit_bzero(k->check.pin, sizeof(k->check.pin));
	explicit_bzero(k->check.hashes, sizeof(k->check.hashes));
	k->check.id = 0;
	k->check.n_hashes = 0;
}

static void session_begin(struct kiosk *k, enum session_state state,
			  const char *hmac)
{
	struct session *s = &k->session;

	check_drop(k);
	s->state = state;
	copy(s->hmac, sizeof(s->hmac), hmac);
	s->n_waiting = 0;
	s->n_failed = 0;
	s->n_choice = 0;
}

/* The session is over: show its last screen for a while, then idle. */
static void session_end(struct kiosk *k, enum kiosk_screen screen,
			const unsigned *lockers, unsigned n_lockers)
{
	struct kiosk_screen_info info = screen_info(screen, lockers, n_lockers);

	check_drop(k);
	k->session.state = SESSION_STATE_DONE;
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0, KIOSK_DONE_SCREEN_USEC);
}

static void session_idle(struct kiosk *k)
{
	struct kiosk_screen_info info = screen_info(KIOSK_SCREEN_IDLE, NULL, 0);

	check_drop(k);
	k->session.state = SESSION_STATE_IDLE;
	show(k, &info);
	timer_disarm(k, KIOSK_TIMER_KIND_SESSION, 0);
}

static bool list_remove(unsigned *list, unsigned *n, unsigned value)
{
	unsigned i;

	for (i = 0; i < *n; i++) {
		if (list[i] != value)
			continue;
		memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*list));
		(*n)--;
		return true;
	}
	return false;
}

static bool session_waits_on(const struct kiosk *k, unsigned n)
{
	const struct session *s = &k->session;
	unsigned i;

	if (s->state != SESSION_STATE_DOORS)
		return false;
	for (i = 0; i < s->n_waiting; i++)
		if (s->waiting[i] == n)
			return true;
	return false;
}

/* Door n of the session closed (or never opened); the last one ends it. */
static void session_door_done(struct kiosk *k, unsigned n, bool failed)
{
	struct session *s = &k->session;

	if (!session_waits_on(k, n))
		return;
	list_remove(s->waiting, &s->n_waiting, n);
	if (failed)
		s->failed[s->n_failed++] = n;
	if (s->n_waiting)
		return;
	if (s->n_failed)
		session_end(k, KIOSK_SCREEN_LOCKER_FAULT, s->failed,
			    s->n_failed);
	else
		session_end(k, KIOSK_SCREEN_THANK_YOU, NULL, 0);
}

/* ---- holds ---- */

static void sweep(struct kiosk *k)
{
	unsigned i;

	for (i = 0; i < k->n_holds; i++) {
		struct kiosk_hold *h = &k->holds[i];

		if (h->state != KIOSK_HOLD_STATE_LOADED ||
		    h->expires_at_usec == 0 ||
		    k->wall_usec < h->expires_at_usec)
			continue;
		h->state = KIOSK_HOLD_STATE_EXPIRED;
		record(k, KIOSK_RECORD_HOLD_EXPIRED, h->locker, h->id, "");
	}
}

static bool hold_names(const struct kiosk_hold *h, const char *hmac)
{
	unsigned i;

	if (!strcmp(h->code_hmac, hmac))
		return true;
	for (i = 0; i < h->n_credentials; i++)
		if (!strcmp(h->credential_hmacs[i], hmac))
			return true;
	return false;
}

static void match_holds(const struct kiosk *k, const char *hmac,
			struct match *ret)
{
	unsigned i;

	ret->known = false;
	ret->n = 0;
	for (i = 0; i < k->n_holds; i++) {
		const struct kiosk_hold *h = &k->holds[i];

		if (!hold_names(h, hmac))
			continue;
		ret->known = true;
		if (h->state == KIOSK_HOLD_STATE_LOADED &&
		    ret->n < KIOSK_SESSION_LOCKERS_MAX)
			ret->lockers[ret->n++] = h->locker;
	}
}

static bool match_has_pin(const struct kiosk *k, const struct match *m)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (locker_hold(k, m->lockers[i])->pin_hash[0])
			return true;
	return false;
}

/*
 * A patron's holds share one PIN hash: each distinct hash is tried once,
 * and no more than KIOSK_PIN_HASHES_TRIED_MAX of them (the first ones, in
 * the order of the lockers matched).
 */
static void match_pin_hashes(const struct kiosk *k, const struct match *m,
			     struct kiosk_pin_check *c)
{
	unsigned i, j;

	c->n_hashes = 0;
	for (i = 0; i < m->n && c->n_hashes < KIOSK_PIN_HASHES_TRIED_MAX; i++) {
		const char *hash = locker_hold(k, m->lockers[i])->pin_hash;

		if (!hash[0])
			continue;
		for (j = 0; j < c->n_hashes && strcmp(hash, c->hashes[j]); j++)
			;
		if (j == c->n_hashes)
			copy(c->hashes[c->n_hashes++], sizeof(c->hashes[0]),
			     hash);
	}
}

unsigned kiosk_pin_check_verify(const struct kiosk_pin_check *c)
{
	unsigned i, matched = 0;

	if (!c)
		return 0;
	for (i = 0; i < c->n_hashes && i < KIOSK_PIN_HASHES_TRIED_MAX; i++)
		if (credential_pin_verify(c->hashes[i], c->pin) == 1)
			matched |= 1u << i;
	return matched;
}

/*
 * Asks for the PIN typed to be checked off the loop against the hashes in
 * k->check; the keypad stays as it is until the answer (on_pin_checked()).
 */
static void check_start(struct kiosk *k, const char *pin)
{
	struct kiosk_action *a;

	copy(k->check.pin, sizeof(k->check.pin), pin);
	k->check.id = ++k->last_check_id;
	k->checking = true;
	a = push(k, KIOSK_ACTION_PIN_CHECK);
	if (a)
		a->check_id = k->check.id;
}

/* ---- the guessing defence (kiosk.h) ---- */

static void guard_save(struct kiosk *k, enum kiosk_guard_kind kind,
		       const char *key, unsigned failures, int64_t until_usec)
{
	struct kiosk_action *a = push(k, KIOSK_ACTION_GUARD);

	if (!a)
		return;
	a->guard.kind = kind;
	copy(a->guard.key, sizeof(a->guard.key), key);
	a->guard.failures = failures;
	a->guard.until_usec = until_usec;
}

static int64_t code_budget_span_usec(void)
{
	return (int64_t)(KIOSK_CODE_GUESS_BURST *
			 KIOSK_CODE_GUESS_INTERVAL_USEC);
}

/*
 * A deadline more than span from now (the clock was set back, or a saved
 * state is odd): no further than span from now, saved so.
 */
static void guard_clamp(struct kiosk *k, enum kiosk_guard_kind kind,
			const char *key, unsigned failures, int64_t *until_usec,
			int64_t span_usec)
{
	if (*until_usec <= k->wall_usec ||
	    *until_usec - k->wall_usec <= span_usec)
		return;
	*until_usec = k->wall_usec + span_usec;
	guard_save(k, kind, key, failures, *until_usec);
}

/*
 * Whether no unknown code is left to spend (codes are refused unmatched
 * then): the budget is whole at code_budget_usec, one code back per
 * interval before that.
 */
static bool code_budget_spent(struct kiosk *k)
{
	guard_clamp(k, KIOSK_GUARD_KIND_CODES, "", 0, &k->code_budget_usec,
		    code_budget_span_usec());
	return k->code_budget_usec - k->wall_usec >
	       code_budget_span_usec() -
		       (int64_t)KIOSK_CODE_GUESS_INTERVAL_USEC;
}

static void code_budget_spend(struct kiosk *k)
{
	int64_t from = k->code_budget_usec > k->wall_usec ?
			       k->code_budget_usec :
			       k->wall_usec;

	k->code_budget_usec = from + (int64_t)KIOSK_CODE_GUESS_INTERVAL_USEC;
	guard_save(k, KIOSK_GUARD_KIND_CODES, "", 0, k->code_budget_usec);
}

/* Whether a PIN lock-out ending at *until_usec holds now. */
static bool pin_locked(struct kiosk *k, enum kiosk_guard_kind kind,
		       const char *key, unsigned failures, int64_t *until_usec)
{
	guard_clamp(k, kind, key, failures, until_usec,
		    (int64_t)k->config.pin_lockout_usec);
	return *until_usec > k->wall_usec;
}

static bool hold_pin_locked(struct kiosk *k, struct kiosk_hold *h)
{
	return pin_locked(k, KIOSK_GUARD_KIND_HOLD, h->id, h->pin_failures,
			  &h->pin_locked_until_usec);
}

/* Drops from m the holds whose PIN path is locked out. */
static void match_drop_pin_locked(struct kiosk *k, struct match *m)
{
	unsigned i, n = 0;

	for (i = 0; i < m->n; i++)
		if (!hold_pin_locked(k, locker_hold(k, m->lockers[i])))
			m->lockers[n++] = m->lockers[i];
	m->n = n;
}

/* The most wrong PINs any of the matched holds has. */
static unsigned match_pin_failures(const struct kiosk *k, const struct match *m)
{
	unsigned i, most = 0;

	for (i = 0; i < m->n; i++) {
		const struct kiosk_hold *h = locker_hold(k, m->lockers[i]);

		if (h->pin_failures > most)
			most = h->pin_failures;
	}
	return most;
}

static unsigned attempts_left(const struct kiosk *k, unsigned failures)
{
	return failures < k->config.pin_max_attempts ?
		       k->config.pin_max_attempts - failures :
		       0;
}

/* Shows a PIN keypad with this many attempts left. */
static void pin_ask(struct kiosk *k, enum kiosk_screen screen, unsigned left)
{
	struct kiosk_screen_info info = screen_info(screen, NULL, 0);

	info.attempts_left = left;
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
		  k->config.session_timeout_usec);
}

/*
 * Counts one wrong PIN on a hold or staff card: true when that locks it
 * out (its count starts again, its lock-out saved).
 */
static bool pin_count(struct kiosk *k, enum kiosk_guard_kind kind,
		      const char *key, unsigned *failures, int64_t *until_usec)
{
	bool locked = false;

	if (++*failures >= k->config.pin_max_attempts) {
		*failures = 0;
		*until_usec =
			k->wall_usec + (int64_t)k->config.pin_lockout_usec;
		locked = true;
	}
	guard_save(k, kind, key, *failures, *until_usec);
	return locked;
}

/* A right PIN: the counts of these start again. */
static void pin_forget(struct kiosk *k, enum kiosk_guard_kind kind,
		       const char *key, unsigned *failures, int64_t *until_usec)
{
	if (!*failures && !*until_usec)
		return;
	*failures = 0;
	*until_usec = 0;
	guard_save(k, kind, key, 0, 0);
}

/* ---- door supervisor ---- */

static void opening_clear(struct locker *lk)
{
	lk->purpose = KIOSK_PURPOSE_NONE;
	lk->attempt = 0;
	lk->actor[0] = '\0';
	lk->hold_id[0] = '\0';
	lk->open_at_pulse = false;
	lk->n_left = 0;
	lk->given_up = false;
}

/* Always the record first: the kiosk never unlocks without one. */
static void door_pulse(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);
	struct kiosk_record *rec;
	struct kiosk_action *a;

	rec = record(k, KIOSK_RECORD_LOCKER_UNLOCKED, n, lk->hold_id,
		     lk->actor);
	if (rec) {
		rec->purpose = lk->purpose;
		rec->attempt = lk->attempt;
	}
	a = push(k, KIOSK_ACTION_UNLOCK);
	if (a) {
		a->locker = n;
		a->pulse_ms = lk->config.pulse_ms;
	}
}

/* The hold the opening was for has been taken out of locker n. */
static void hold_taken(struct kiosk *k, unsigned n, enum kiosk_record_type type)
{
	struct locker *lk = locker_get(k, n);
	struct kiosk_hold *h = hold_find(k, lk->hold_id);
	struct kiosk_record *rec;

	if (!h || h->locker != n)
		return;
	rec = record(k, type, n, h->id, lk->actor);
	/* A partial pickup: the hold stays, with the books left. */
	if (type == KIOSK_RECORD_HOLD_PICKED_UP && lk->n_left) {
		if (rec) {
			rec->left = (const char(*)[KIOSK_BARCODE_MAX + 1])
					    lk->left_items;
			rec->n_left = lk->n_left;
		}
		h->n_items = lk->n_left;
		return;
	}
	hold_drop(k, h);
}

/* Seen open after an unlock. */
static void door_opened(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);

	timer_disarm(k, KIOSK_TIMER_KIND_DOOR_CONFIRM, n);
	lk->door_state = KIOSK_DOOR_STATE_OPEN;
	timer_arm(k, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, n,
		  k->config.door_left_open_usec);
	switch (lk->purpose) {
	case KIOSK_PURPOSE_PICKUP:
		hold_taken(k, n, KIOSK_RECORD_HOLD_PICKED_UP);
		break;
	case KIOSK_PURPOSE_UNLOAD:
		hold_taken(k, n, KIOSK_RECORD_HOLD_UNLOADED);
		break;
	case KIOSK_PURPOSE_NONE:
	case KIOSK_PURPOSE_LOAD:
	case KIOSK_PURPOSE_RETURN:
	case KIOSK_PURPOSE_MAINTENANCE:
		break; /* these count once the door is shut again */
	}
}

static void door_start(struct kiosk *k, unsigned n, enum kiosk_purpose purpose,
		       const char *actor, const char *hold_id)
{
	struct locker *lk = locker_get(k, n);

	lk->purpose = purpose;
	lk->attempt = 1;
	if (purpose == KIOSK_PURPOSE_RETURN)
		lk->n_return_items = 0;
	/* Only patron_open() sets the books left, and only for a pickup. */
	if (purpose != KIOSK_PURPOSE_PICKUP)
		lk->n_left = 0;
	copy(lk->actor, sizeof(lk->actor), actor);
	copy(lk->hold_id, sizeof(lk->hold_id), hold_id);
	door_pulse(k, n);
	/* A cut sensor reads open: pulse anyway, and take it as opened. */
	if (lk->door_open) {
		lk->open_at_pulse = true;
		door_opened(k, n);
		return;
	}
	lk->door_state = KIOSK_DOOR_STATE_UNLOCKING;
	timer_arm(k, KIOSK_TIMER_KIND_DOOR_CONFIRM, n,
		  k->config.door_confirm_timeout_usec);
}

static void door_not_opened(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);
	struct kiosk_record *rec;

	/* The patron cancelled and did not pull it: the lock is not to blame. */
	if (lk->given_up) {
		struct kiosk_action *a = push(k, KIOSK_ACTION_OPENING_DROPPED);

		if (a)
			a->locker = n;
		lk->door_state = KIOSK_DOOR_STATE_CLOSED;
		opening_clear(lk);
		return;
	}
	if (lk->attempt < KIOSK_UNLOCK_ATTEMPTS) {
		lk->attempt++;
		door_pulse(k, n);
		timer_arm(k, KIOSK_TIMER_KIND_DOOR_CONFIRM, n,
			  k->config.door_confirm_timeout_usec);
		return;
	}
	rec = record(k, KIOSK_RECORD_LOCKER_FAULT, n, lk->hold_id, lk->actor);
	if (rec)
		rec->fault = KIOSK_FAULT_NOT_OPENED;
	lk->fault = KIOSK_FAULT_NOT_OPENED;
	lk->door_state = KIOSK_DOOR_STATE_CLOSED;
	opening_clear(lk);
	session_door_done(k, n, true);
}

static void door_forced(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);
	const struct kiosk_hold *h = locker_hold(k, n);

	lk->door_state = KIOSK_DOOR_STATE_FORCED;
	record(k, KIOSK_RECORD_DOOR_FORCED_OPEN, n, h ? h->id : "", "");
	lk->alarm_forced_open = true;
	timer_arm(k, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, n,
		  k->config.door_left_open_usec);
}

static void door_left_open(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);
	const struct session *s = &k->session;
	struct kiosk_screen_info info;

	if (!lk->alarm_left_open) {
		record(k, KIOSK_RECORD_DOOR_LEFT_OPEN, n, lk->hold_id,
		       lk->actor);
		lk->alarm_left_open = true;
	}
	if (session_waits_on(k, n)) {
		info = screen_info(KIOSK_SCREEN_CLOSE_DOOR, s->waiting,
				   s->n_waiting);
		show(k, &info);
	}
}

/* A load door closed after opening: the hold is in. */
static void hold_loaded(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);
	struct kiosk_hold *h = hold_find(k, lk->hold_id);

	if (!h || h->state != KIOSK_HOLD_STATE_PENDING)
		return;
	record(k, KIOSK_RECORD_HOLD_LOADED, n, h->id, lk->actor);
	h->state = KIOSK_HOLD_STATE_LOADED;
	h->locker = n;
	h->loaded_at_usec = k->wall_usec;
}

static void door_closed(struct kiosk *k, unsigned n)
{
	struct locker *lk = locker_get(k, n);
	struct kiosk_record *rec;

	lk->door_state = KIOSK_DOOR_STATE_CLOSED;
	timer_disarm(k, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, n);
	if (lk->alarm_left_open || lk->alarm_forced_open) {
		record(k, KIOSK_RECORD_DOOR_CLOSED, n, "", lk->actor);
		lk->alarm_left_open = false;
		lk->alarm_forced_open = false;
	}
	switch (lk->purpose) {
	case KIOSK_PURPOSE_LOAD:
		hold_loaded(k, n);
		break;
	case KIOSK_PURPOSE_RETURN:
		rec = record(k, KIOSK_RECORD_RETURN_DEPOSITED, n, "",
			     lk->actor);
		if (rec) {
			rec->items = (const char(*)[KIOSK_BARCODE_MAX + 1])
					     lk->return_items;
			rec->n_items = lk->n_return_items;
		}
		lk->returns++;
		break;
	case KIOSK_PURPOSE_MAINTENANCE:
		if (lk->config.kind == KIOSK_LOCKER_KIND_RETURN &&
		    lk->returns > 0) {
			record(k, KIOSK_RECORD_RETURNS_COLLECTED, n, "",
			       lk->actor);
			lk->returns = 0;
		}
		break;
	case KIOSK_PURPOSE_NONE:
	case KIOSK_PURPOSE_PICKUP:
	case KIOSK_PURPOSE_UNLOAD:
		break; /* nothing counts at closing */
	}
	opening_clear(lk);
	session_door_done(k, n, false);
}

/* ---- patrons ---- */

/* The pick for hold h, or NULL: its door opens for every book. */
static const struct kiosk_pick *pick_find(const struct kiosk_pick *picks,
					  unsigned n_picks,
					  const struct kiosk_hold *h)
{
	for (unsigned i = 0; i < n_picks; i++)
		if (!strcmp(picks[i].hold_id, h->id))
			return &picks[i];
	return NULL;
}

/* Every book of hold h left in its locker: its door stays shut. */
static bool pick_leaves_all(const struct kiosk_pick *p,
			    const struct kiosk_hold *h)
{
	return p && p->n_left && p->n_left >= h->n_items;
}

/* The books the patron leaves in locker lk: p's, or none. */
static void pick_set(struct locker *lk, const struct kiosk_pick *p)
{
	lk->n_left = p ? p->n_left : 0;
	for (unsigned j = 0; j < lk->n_left; j++)
		copy(lk->left_items[j], sizeof(lk->left_items[j]), p->left[j]);
}

/*
 * Opens the lockers of m for the patron; a hold that @picks names is taken
 * in part (some books left) or not at all (every book left).
 */
static void patron_open(struct kiosk *k, const char *hmac,
			const struct match *m, const struct kiosk_pick *picks,
			unsigned n_picks)
{
	struct session *s = &k->session;
	struct kiosk_screen_info info;
	char actor[KIOSK_ACTOR_MAX + 1];
	char name[KIOSK_NAME_MAX + 1] = "";
	unsigned i;

	/* Read before opening: a hold leaves memory once its door opens. */
	for (i = 0; i < m->n && !name[0]; i++)
		copy(name, sizeof(name),
		     locker_hold(k, m->lockers[i])->patron_name);
	actor_of(actor, ACTOR_ROLE_PATRON, hmac);
	session_begin(k, SESSION_STATE_DOORS, hmac);
	for (i = 0; i < m->n; i++) {
		unsigned n = m->lockers[i];
		struct locker *lk = locker_get(k, n);
		const struct kiosk_hold *h = locker_hold(k, n);
		const struct kiosk_pick *p = pick_find(picks, n_picks, h);
		bool again = lk->purpose == KIOSK_PURPOSE_PICKUP &&
			     !strcmp(lk->actor, actor);

		/*
		 * Tapped again with the door open: it is already theirs, and
		 * books now taken of those left there are taken at once.
		 */
		if (again && lk->door_state != KIOSK_DOOR_STATE_UNLOCKING) {
			if (!pick_leaves_all(p, h)) {
				pick_set(lk, p);
				hold_taken(k, n, KIOSK_RECORD_HOLD_PICKED_UP);
			}
			s->waiting[s->n_waiting++] = n;
			continue;
		}
		/*
		 * Tapped again while the door unlocks: this pick replaces the
		 * last, and leaving every book gives the door up as a cancel
		 * does.
		 */
		if (pick_leaves_all(p, h)) {
			if (again)
				lk->given_up = true;
			continue;
		}
		if (!again && (lk->disabled || lk->fault != KIOSK_FAULT_NONE ||
			       lk->purpose != KIOSK_PURPOSE_NONE)) {
			s->failed[s->n_failed++] = n;
			continue;
		}
		pick_set(lk, p);
		lk->given_up = false;
		if (!again)
			door_start(k, n, KIOSK_PURPOSE_PICKUP, actor, h->id);
		s->waiting[s->n_waiting++] = n;
	}
	if (!s->n_waiting) {
		session_end(k, KIOSK_SCREEN_LOCKER_FAULT, s->failed,
			    s->n_failed);
		return;
	}
	info = screen_info(KIOSK_SCREEN_LOCKERS_OPEN, s->waiting, s->n_waiting);
	copy(info.patron_name, sizeof(info.patron_name), name);
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
		  k->config.session_timeout_usec);
}

/*
 * The patron may open m: at once, or, where part of a hold may be taken
 * (a hold of two or more books, a server of v1.1), after choosing which
 * books to take (CHOOSE_BOOKS, answered by KIOSK_INPUT_PICKUP).
 */
static void patron_ready(struct kiosk *k, const char *hmac,
			 const struct match *m)
{
	struct session *s = &k->session;
	struct kiosk_screen_info info;
	bool choice = false;
	unsigned i;

	for (i = 0; k->partial_pickup && i < m->n && !choice; i++)
		choice = locker_hold(k, m->lockers[i])->n_items > 1;
	if (!choice) {
		patron_open(k, hmac, m, NULL, 0);
		return;
	}
	session_begin(k, SESSION_STATE_CHOOSE, hmac);
	s->n_choice = m->n;
	memcpy(s->choice, m->lockers, m->n * sizeof(*m->lockers));
	info = screen_info(KIOSK_SCREEN_CHOOSE_BOOKS, m->lockers, m->n);
	for (i = 0; i < m->n && !info.patron_name[0]; i++)
		copy(info.patron_name, sizeof(info.patron_name),
		     locker_hold(k, m->lockers[i])->patron_name);
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
		  k->config.session_timeout_usec);
}

static void patron_tap(struct kiosk *k, const char *hmac, bool is_code)
{
	struct match m;
	bool has_pin;

	/* Codes are what is guessed: with the budget spent none is matched. */
	if (is_code && code_budget_spent(k)) {
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	sweep(k);
	match_holds(k, hmac, &m);
	if (!m.known) {
		if (is_code)
			code_budget_spend(k);
		session_end(k, KIOSK_SCREEN_UNKNOWN_CARD, NULL, 0);
		return;
	}
	if (!m.n) {
		session_end(k, KIOSK_SCREEN_NO_HOLDS, NULL, 0);
		return;
	}
	/* A pickup code is a one-time secret of its own: no PIN. */
	if (is_code) {
		patron_ready(k, hmac, &m);
		return;
	}
	match_drop_pin_locked(k, &m);
	if (!m.n) {
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	has_pin = match_has_pin(k, &m);
	if (!k->config.pin_required && !has_pin) {
		patron_ready(k, hmac, &m);
		return;
	}
	if (!has_pin) {
		session_end(k, KIOSK_SCREEN_PIN_NOT_SET, NULL, 0);
		return;
	}
	session_begin(k, SESSION_STATE_PATRON_PIN, hmac);
	pin_ask(k, KIOSK_SCREEN_PIN,
		attempts_left(k, match_pin_failures(k, &m)));
}

/*
 * A wrong PIN counts on every hold it was typed for, whichever of the
 * hold's credentials was shown: a hold with four credentials gets no more
 * tries than a hold with one.
 */
static void patron_pin_failed(struct kiosk *k, const char *hmac,
			      struct match *m)
{
	char actor[KIOSK_ACTOR_MAX + 1];
	bool locked = false;
	unsigned i;

	for (i = 0; i < m->n; i++) {
		struct kiosk_hold *h = locker_hold(k, m->lockers[i]);

		if (pin_count(k, KIOSK_GUARD_KIND_HOLD, h->id, &h->pin_failures,
			      &h->pin_locked_until_usec))
			locked = true;
	}
	if (locked) {
		actor_of(actor, ACTOR_ROLE_PATRON, hmac);
		record(k, KIOSK_RECORD_PIN_LOCKOUT, 0, "", actor);
	}
	match_drop_pin_locked(k, m);
	if (!m->n) {
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	pin_ask(k, KIOSK_SCREEN_WRONG_PIN,
		attempts_left(k, match_pin_failures(k, m)));
}

static void patron_pin(struct kiosk *k, const char *pin)
{
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	struct match m;

	copy(hmac, sizeof(hmac), k->session.hmac);
	/* Holds may have expired or left while the patron was typing. */
	sweep(k);
	match_holds(k, hmac, &m);
	match_drop_pin_locked(k, &m);
	if (!m.n) {
		session_end(k, KIOSK_SCREEN_NO_HOLDS, NULL, 0);
		return;
	}
	match_pin_hashes(k, &m, &k->check);
	if (!k->check.n_hashes) {
		patron_pin_failed(k, hmac, &m);
		return;
	}
	check_start(k, pin);
}

/*
 * Keeps the holds the PIN is good for: those whose PIN hash it matched
 * (bit j of @matched for c->hashes[j]), and those with no PIN where none is
 * required. A hold whose PIN changed while the check ran is left out.
 */
static void match_keep_checked(const struct kiosk *k, struct match *m,
			       const struct kiosk_pin_check *c,
			       unsigned matched)
{
	unsigned i, j, n = 0;

	for (i = 0; i < m->n; i++) {
		const char *hash = locker_hold(k, m->lockers[i])->pin_hash;
		bool keep = !hash[0] && !k->config.pin_required;

		for (j = 0; hash[0] && j < c->n_hashes && !keep; j++)
			keep = (matched & 1u << j) &&
			       !strcmp(hash, c->hashes[j]);
		if (keep)
			m->lockers[n++] = m->lockers[i];
	}
	m->n = n;
}

/*
 * The answer to the patron's PIN: @matched says which of @checked's hashes
 * it matches. The holds are matched again.
 */
static void patron_pin_checked(struct kiosk *k, unsigned matched,
			       const struct kiosk_pin_check *checked)
{
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	struct match m;
	unsigned i;

	copy(hmac, sizeof(hmac), k->session.hmac);
	sweep(k);
	match_holds(k, hmac, &m);
	match_drop_pin_locked(k, &m);
	if (!m.n) {
		session_end(k, KIOSK_SCREEN_NO_HOLDS, NULL, 0);
		return;
	}
	if (!matched) {
		patron_pin_failed(k, hmac, &m);
		return;
	}
	/* Its PIN changed meanwhile (a sync): ask again, counting nothing. */
	match_keep_checked(k, &m, checked, matched);
	if (!m.n) {
		match_holds(k, hmac, &m);
		match_drop_pin_locked(k, &m);
		pin_ask(k, KIOSK_SCREEN_PIN,
			attempts_left(k, match_pin_failures(k, &m)));
		return;
	}
	for (i = 0; i < m.n; i++) {
		struct kiosk_hold *h = locker_hold(k, m.lockers[i]);

		pin_forget(k, KIOSK_GUARD_KIND_HOLD, h->id, &h->pin_failures,
			   &h->pin_locked_until_usec);
	}
	patron_ready(k, hmac, &m);
}

static bool choice_has(const struct session *s, unsigned n)
{
	for (unsigned i = 0; i < s->n_choice; i++)
		if (s->choice[i] == n)
			return true;
	return false;
}

static bool barcode_valid(const char *b)
{
	size_t i;

	if (!b || !b[0])
		return false;
	for (i = 0; b[i]; i++)
		if (i == KIOSK_BARCODE_MAX || b[i] < '!' || b[i] > '~')
			return false;
	return true;
}

/* A pick as kiosk.h says, of a hold on the CHOOSE_BOOKS screen. */
static bool pick_valid(const struct kiosk *k, const struct kiosk_pick *p)
{
	const struct kiosk_hold *h =
		p->hold_id ? hold_find(k, p->hold_id) : NULL;

	if (!h ||
	    (h->state != KIOSK_HOLD_STATE_LOADED &&
	     h->state != KIOSK_HOLD_STATE_EXPIRED) ||
	    !choice_has(&k->session, h->locker) ||
	    p->n_left > KIOSK_HOLD_ITEMS_MAX || (p->n_left && !p->left))
		return false;
	for (unsigned i = 0; i < p->n_left; i++) {
		if (!barcode_valid(p->left[i]))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(p->left[i], p->left[j]))
				return false;
	}
	return true;
}

/* The patron's answer to CHOOSE_BOOKS: open what they take. */
static int on_pickup(struct kiosk *k, const struct kiosk_input *in)
{
	struct session *s = &k->session;
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	bool opens = false;
	struct match m;
	unsigned i, j;

	if (s->state != SESSION_STATE_CHOOSE)
		return -EALREADY;
	if (in->n_picks > s->n_choice || (in->n_picks && !in->picks))
		return -EINVAL;
	for (i = 0; i < in->n_picks; i++) {
		if (!pick_valid(k, &in->picks[i]))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (!strcmp(in->picks[i].hold_id, in->picks[j].hold_id))
				return -EINVAL;
	}
	for (i = 0; i < s->n_choice && !opens; i++) {
		const struct kiosk_hold *h = locker_hold(k, s->choice[i]);

		opens = h && !pick_leaves_all(
				     pick_find(in->picks, in->n_picks, h), h);
	}
	if (!opens)
		return -EINVAL;
	copy(hmac, sizeof(hmac), s->hmac);
	/* Holds may have expired or left while the patron chose. */
	sweep(k);
	match_holds(k, hmac, &m);
	for (i = 0, j = 0; i < m.n; i++)
		if (choice_has(s, m.lockers[i]))
			m.lockers[j++] = m.lockers[i];
	m.n = j;
	if (!m.n) {
		session_end(k, KIOSK_SCREEN_NO_HOLDS, NULL, 0);
		return 0;
	}
	patron_open(k, hmac, &m, in->picks, in->n_picks);
	return 0;
}

/* ---- staff ---- */

static bool staff_pin_locked(struct kiosk *k, struct kiosk_staff *staff)
{
	return pin_locked(k, KIOSK_GUARD_KIND_STAFF, staff->credential_hmac,
			  staff->pin_failures, &staff->pin_locked_until_usec);
}

static void staff_tap(struct kiosk *k, struct kiosk_staff *staff)
{
	if (staff_pin_locked(k, staff)) {
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	session_begin(k, SESSION_STATE_STAFF_PIN, staff->credential_hmac);
	pin_ask(k, KIOSK_SCREEN_STAFF_PIN,
		attempts_left(k, staff->pin_failures));
}

static void staff_pin(struct kiosk *k, const char *pin)
{
	const struct kiosk_staff *staff = staff_find(k, k->session.hmac);

	/* Removed while its PIN was asked for: nothing to log in to. */
	if (!staff) {
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	copy(k->check.hashes[0], sizeof(k->check.hashes[0]), staff->pin_hash);
	k->check.n_hashes = 1;
	check_start(k, pin);
}

/* The answer to the staff PIN. */
static void staff_pin_checked(struct kiosk *k, bool ok)
{
	struct kiosk_staff *staff = staff_find(k, k->session.hmac);
	struct kiosk_screen_info info;
	char actor[KIOSK_ACTOR_MAX + 1];

	/* Removed while its PIN was checked: nothing to log in to. */
	if (!staff) {
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	if (!ok) {
		if (!pin_count(k, KIOSK_GUARD_KIND_STAFF,
			       staff->credential_hmac, &staff->pin_failures,
			       &staff->pin_locked_until_usec)) {
			pin_ask(k, KIOSK_SCREEN_WRONG_PIN,
				attempts_left(k, staff->pin_failures));
			return;
		}
		actor_of(actor, ACTOR_ROLE_STAFF, staff->credential_hmac);
		record(k, KIOSK_RECORD_PIN_LOCKOUT, 0, "", actor);
		session_end(k, KIOSK_SCREEN_LOCKED_OUT, NULL, 0);
		return;
	}
	pin_forget(k, KIOSK_GUARD_KIND_STAFF, staff->credential_hmac,
		   &staff->pin_failures, &staff->pin_locked_until_usec);
	k->session.state = SESSION_STATE_STAFF;
	info = screen_info(KIOSK_SCREEN_STAFF_MENU, NULL, 0);
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
		  k->config.staff_session_timeout_usec);
}

/* Who a staff command acts as: service, or the staff member logged in. */
static int staff_actor(const struct kiosk *k, const struct kiosk_input *in,
		       char ret[KIOSK_ACTOR_MAX + 1])
{
	if (in->service && in->actor && in->actor[0]) {
		snprintf(ret, KIOSK_ACTOR_MAX + 1, "%s:%s", ACTOR_SERVICE,
			 in->actor);
		return 0;
	}
	if (in->service) {
		copy(ret, KIOSK_ACTOR_MAX + 1, ACTOR_SERVICE);
		return 0;
	}
	if (k->session.state != SESSION_STATE_STAFF)
		return -EPERM;
	actor_of(ret, ACTOR_ROLE_STAFF, k->session.hmac);
	return 0;
}

/* A staff command went through: the staff member is still there. */
static void staff_touch(struct kiosk *k, const struct kiosk_input *in)
{
	if (!in->service)
		timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
			  k->config.staff_session_timeout_usec);
}

static int input_hold(const struct kiosk *k, const char *id,
		      struct kiosk_hold **ret)
{
	if (!id || !id[0] || strlen(id) > KIOSK_HOLD_ID_MAX)
		return -EINVAL;
	*ret = hold_find(k, id);
	return *ret ? 0 : -ENOENT;
}

static bool hold_being_loaded(const struct kiosk *k, const char *id)
{
	unsigned n;

	for (n = 1; n <= k->config.n_lockers; n++)
		if (k->lockers[n - 1].purpose == KIOSK_PURPOSE_LOAD &&
		    !strcmp(k->lockers[n - 1].hold_id, id))
			return true;
	return false;
}

/* Whether locker n can take a hold of this size; -errno as kiosk_handle. */
static int locker_check_load(const struct kiosk *k, unsigned n,
			     enum kiosk_size size)
{
	const struct locker *lk;

	if (!locker_valid(k, n))
		return -EINVAL;
	lk = &k->lockers[n - 1];
	if (lk->config.kind != KIOSK_LOCKER_KIND_HOLD)
		return -EINVAL;
	if (lk->disabled || lk->fault != KIOSK_FAULT_NONE)
		return -EACCES;
	if (locker_hold(k, n) || lk->door_state != KIOSK_DOOR_STATE_CLOSED)
		return -EBUSY;
	if (lk->config.size < size)
		return -ENOSPC;
	return 0;
}

/* How well locker n suits hold h: lower is better. */
static unsigned locker_rank(const struct kiosk *k, unsigned n,
			    const struct kiosk_hold *h)
{
	const struct kiosk_locker_config *c = &k->lockers[n - 1].config;

	/* Reach first: low lockers are kept for the patrons who need them. */
	return (c->low != h->needs_low) * 16 + (unsigned)c->size;
}

/*
 * The free locker the hold fits in: within reach for a patron who needs
 * a low one (any other when none is free), not a low one for the others
 * while another fits; the smallest, lowest number first; or 0.
 */
static unsigned locker_choose(const struct kiosk *k, const struct kiosk_hold *h)
{
	unsigned n, best = 0;

	for (n = 1; n <= k->config.n_lockers; n++) {
		if (locker_check_load(k, n, h->size) < 0)
			continue;
		if (!best || locker_rank(k, n, h) < locker_rank(k, best, h))
			best = n;
	}
	return best;
}

static int on_load(struct kiosk *k, const struct kiosk_input *in)
{
	char actor[KIOSK_ACTOR_MAX + 1];
	struct kiosk_hold *h;
	unsigned n = in->locker;
	int r;

	r = staff_actor(k, in, actor);
	if (r < 0)
		return r;
	r = input_hold(k, in->hold_id, &h);
	if (r < 0)
		return r;
	if (h->state != KIOSK_HOLD_STATE_PENDING || hold_being_loaded(k, h->id))
		return -EALREADY;
	if (n == 0) {
		n = locker_choose(k, h);
		if (!n)
			return -ENOSPC;
	} else {
		r = locker_check_load(k, n, h->size);
		if (r < 0)
			return r;
	}
	door_start(k, n, KIOSK_PURPOSE_LOAD, actor, h->id);
	staff_touch(k, in);
	return 0;
}

static int on_unload(struct kiosk *k, const struct kiosk_input *in)
{
	char actor[KIOSK_ACTOR_MAX + 1];
	struct kiosk_hold *h;
	int r;

	r = staff_actor(k, in, actor);
	if (r < 0)
		return r;
	r = input_hold(k, in->hold_id, &h);
	if (r < 0)
		return r;
	if (h->state != KIOSK_HOLD_STATE_LOADED &&
	    h->state != KIOSK_HOLD_STATE_EXPIRED)
		return -EALREADY;
	/* A disabled locker is no reason to refuse: staff fix things. */
	if (locker_get(k, h->locker)->purpose != KIOSK_PURPOSE_NONE)
		return -EBUSY;
	door_start(k, h->locker, KIOSK_PURPOSE_UNLOAD, actor, h->id);
	staff_touch(k, in);
	return 0;
}

static int on_open(struct kiosk *k, const struct kiosk_input *in)
{
	char actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_hold *h;
	int r;

	r = staff_actor(k, in, actor);
	if (r < 0)
		return r;
	if (!locker_valid(k, in->locker))
		return -EINVAL;
	if (locker_get(k, in->locker)->purpose != KIOSK_PURPOSE_NONE)
		return -EBUSY;
	h = locker_hold(k, in->locker);
	door_start(k, in->locker, KIOSK_PURPOSE_MAINTENANCE, actor,
		   h ? h->id : "");
	staff_touch(k, in);
	return 0;
}

static int on_set_disabled(struct kiosk *k, const struct kiosk_input *in,
			   bool disable)
{
	char actor[KIOSK_ACTOR_MAX + 1];
	struct locker *lk;
	int r;

	r = staff_actor(k, in, actor);
	if (r < 0)
		return r;
	if (!locker_valid(k, in->locker))
		return -EINVAL;
	lk = locker_get(k, in->locker);
	if (disable) {
		if (lk->disabled)
			return -EALREADY;
		record(k, KIOSK_RECORD_LOCKER_DISABLED, in->locker, "", actor);
		lk->disabled = true;
	} else {
		if (!lk->disabled && lk->fault == KIOSK_FAULT_NONE)
			return -EALREADY;
		record(k, KIOSK_RECORD_LOCKER_ENABLED, in->locker, "", actor);
		lk->disabled = false;
		lk->fault = KIOSK_FAULT_NONE;
	}
	staff_touch(k, in);
	return 0;
}

/* ---- returns ---- */

/* The lowest-numbered empty return compartment that can open, or 0. */
static unsigned return_locker_free(const struct kiosk *k)
{
	unsigned n;

	for (n = 1; n <= k->config.n_lockers; n++) {
		const struct locker *lk = &k->lockers[n - 1];

		if (lk->config.kind == KIOSK_LOCKER_KIND_RETURN &&
		    !lk->disabled && lk->fault == KIOSK_FAULT_NONE &&
		    lk->returns == 0 &&
		    lk->door_state == KIOSK_DOOR_STATE_CLOSED)
			return n;
	}
	return 0;
}

static void return_open(struct kiosk *k, const char *hmac)
{
	struct session *s = &k->session;
	struct kiosk_screen_info info;
	char actor[KIOSK_ACTOR_MAX + 1];
	unsigned n = return_locker_free(k);

	if (!n) {
		session_end(k, KIOSK_SCREEN_RETURN_FULL, NULL, 0);
		return;
	}
	actor_of(actor, ACTOR_ROLE_PATRON, hmac);
	session_begin(k, SESSION_STATE_DOORS, hmac);
	door_start(k, n, KIOSK_PURPOSE_RETURN, actor, "");
	s->waiting[s->n_waiting++] = n;
	info = screen_info(KIOSK_SCREEN_RETURN_OPEN, &n, 1);
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
		  k->config.session_timeout_usec);
}

/* A book scanned while a return door is open goes with its deposit. */
static int on_return_item(struct kiosk *k, const char *barcode)
{
	struct locker *lk = NULL;

	/*
	 * With no return door open the scan is someone's card (ENOENT), so
	 * that is found out before the barcode is judged. With two open,
	 * which one the book went into is not known: listed with neither.
	 */
	for (unsigned n = 1; n <= k->config.n_lockers; n++) {
		if (k->lockers[n - 1].purpose != KIOSK_PURPOSE_RETURN ||
		    k->lockers[n - 1].door_state == KIOSK_DOOR_STATE_CLOSED)
			continue;
		if (lk)
			return -EBUSY;
		lk = &k->lockers[n - 1];
	}
	if (!lk)
		return -ENOENT;
	if (!barcode_valid(barcode))
		return -EINVAL;
	for (unsigned i = 0; i < lk->n_return_items; i++)
		if (strcmp(lk->return_items[i], barcode) == 0)
			return 0;
	if (lk->n_return_items >= KIOSK_RETURN_ITEMS_MAX)
		return -ENOSPC;
	copy(lk->return_items[lk->n_return_items], sizeof(*lk->return_items),
	     barcode);
	lk->n_return_items++;
	return 0;
}

static int on_return_start(struct kiosk *k)
{
	struct kiosk_screen_info info;

	switch (k->session.state) {
	case SESSION_STATE_IDLE:
	case SESSION_STATE_DONE:
		break;
	case SESSION_STATE_PATRON_PIN:
	case SESSION_STATE_STAFF_PIN:
	case SESSION_STATE_STAFF:
	case SESSION_STATE_RETURN_CARD:
	case SESSION_STATE_CHOOSE:
	case SESSION_STATE_DOORS:
		return -EBUSY;
	}
	session_begin(k, SESSION_STATE_RETURN_CARD, "");
	info = screen_info(KIOSK_SCREEN_RETURN_IDENTIFY, NULL, 0);
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_SESSION, 0,
		  k->config.session_timeout_usec);
	return 0;
}

/* ---- inputs ---- */

/*
 * Nobody knows how locker n's saved opening ended: staff must look. A load
 * names no hold: its hold is not in the locker yet.
 */
static void opening_interrupted(struct kiosk *k, unsigned n)
{
	const struct kiosk_hold *h = locker_hold(k, n);
	struct kiosk_record *rec;

	rec = record(k, KIOSK_RECORD_LOCKER_FAULT, n, h ? h->id : "", "");
	if (rec)
		rec->fault = KIOSK_FAULT_INTERRUPTED;
	locker_get(k, n)->fault = KIOSK_FAULT_INTERRUPTED;
}

static int on_start(struct kiosk *k)
{
	struct kiosk_screen_info info = screen_info(KIOSK_SCREEN_IDLE, NULL, 0);
	unsigned n;

	if (k->started)
		return -EALREADY;
	k->started = true;
	show(k, &info);
	timer_arm(k, KIOSK_TIMER_KIND_EXPIRY_SWEEP, 0, KIOSK_EXPIRY_SWEEP_USEC);
	sweep(k);
	for (n = 1; n <= k->config.n_lockers; n++) {
		struct locker *lk = locker_get(k, n);

		if (lk->interrupted)
			opening_interrupted(k, n);
		/* Open at boot: nobody to blame, but it must not stay open. */
		if (!lk->door_open)
			continue;
		lk->door_state = KIOSK_DOOR_STATE_OPEN;
		timer_arm(k, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, n,
			  k->config.door_left_open_usec);
	}
	return 0;
}

static int on_credential(struct kiosk *k, const struct kiosk_input *in)
{
	char normalised[CREDENTIAL_MAX + 1];
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	struct kiosk_staff *staff;
	int r;

	if (credential_normalise(in->credential, normalised,
				 sizeof(normalised)) < 0) {
		if (k->session.state == SESSION_STATE_STAFF)
			return -EBUSY;
		/*
		 * A tap ends the session even when unreadable, so the
		 * screen can say why and then return to idle.
		 */
		session_end(k, KIOSK_SCREEN_BAD_CREDENTIAL, NULL, 0);
		return -EINVAL;
	}
	r = credential_hmac(k->config.site_key, k->config.site_key_len,
			    normalised, hmac);
	if (r < 0)
		return r;
	staff = staff_find(k, hmac);

	/*
	 * The doors a pickup or a return opened are still open and the same
	 * card comes again (the patron taps to be sure): the session and its
	 * screen stay as they are, the close-door reminder and the thank-you
	 * still to come. Another card takes over, as at any other time.
	 */
	if (k->session.state == SESSION_STATE_DOORS && !staff &&
	    !strcmp(hmac, k->session.hmac)) {
		struct kiosk_screen_info same = k->screen;

		show(k, &same);
		return 0;
	}
	/* Staff at work are not interrupted, but may hand over. */
	if (k->session.state == SESSION_STATE_STAFF &&
	    (!staff || !strcmp(hmac, k->session.hmac)))
		return -EBUSY;
	if (staff)
		staff_tap(k, staff);
	else if (k->session.state == SESSION_STATE_RETURN_CARD)
		return_open(k, hmac);
	else
		patron_tap(k, hmac,
			   !strncmp(normalised, CREDENTIAL_CODE_PREFIX,
				    strlen(CREDENTIAL_CODE_PREFIX)));
	return 0;
}

static int on_pin(struct kiosk *k, const struct kiosk_input *in)
{
	/* One PIN at a time: the keypad waits for the answer. */
	if (k->checking)
		return -EBUSY;
	switch (k->session.state) {
	case SESSION_STATE_PATRON_PIN:
		patron_pin(k, in->pin);
		return 0;
	case SESSION_STATE_STAFF_PIN:
		staff_pin(k, in->pin);
		return 0;
	case SESSION_STATE_IDLE:
	case SESSION_STATE_STAFF:
	case SESSION_STATE_RETURN_CARD:
	case SESSION_STATE_CHOOSE:
	case SESSION_STATE_DOORS:
	case SESSION_STATE_DONE:
		break;
	}
	return -EINVAL;
}

static int on_pin_checked(struct kiosk *k, const struct kiosk_input *in)
{
	struct kiosk_pin_check checked;
	unsigned matched = in->pin_matched;

	/* The session moved on, or a newer PIN is being checked. */
	if (!k->checking || in->check_id != k->check.id)
		return 0;
	checked = k->check;
	check_drop(k);
	switch (k->session.state) {
	case SESSION_STATE_PATRON_PIN:
		patron_pin_checked(k, matched, &checked);
		break;
	case SESSION_STATE_STAFF_PIN:
		staff_pin_checked(k, matched != 0);
		break;
	case SESSION_STATE_IDLE:
	case SESSION_STATE_STAFF:
	case SESSION_STATE_RETURN_CARD:
	case SESSION_STATE_CHOOSE:
	case SESSION_STATE_DOORS:
	case SESSION_STATE_DONE:
		break;
	}
	explicit_bzero(&checked, sizeof(checked));
	return 0;
}

static int on_door(struct kiosk *k, const struct kiosk_input *in)
{
	struct locker *lk;

	if (!locker_valid(k, in->locker))
		return -EINVAL;
	lk = locker_get(k, in->locker);
	if (lk->door_open == in->door_open)
		return 0; /* a repeated edge */
	lk->door_open = in->door_open;
	switch (lk->door_state) {
	case KIOSK_DOOR_STATE_CLOSED:
		if (in->door_open)
			door_forced(k, in->locker);
		break;
	case KIOSK_DOOR_STATE_UNLOCKING:
		if (in->door_open)
			door_opened(k, in->locker);
		break;
	case KIOSK_DOOR_STATE_OPEN:
	case KIOSK_DOOR_STATE_FORCED:
		if (!in->door_open)
			door_closed(k, in->locker);
		break;
	}
	return 0;
}

/*
 * The pulse of locker n's opening was never given: forget the opening, as
 * if never asked for, and record nothing.
 */
static int on_unlock_failed(struct kiosk *k, const struct kiosk_input *in)
{
	unsigned n = in->locker;
	struct locker *lk;

	if (!locker_valid(k, n))
		return -EINVAL;
	lk = locker_get(k, n);
	if (lk->door_state != KIOSK_DOOR_STATE_UNLOCKING && !lk->open_at_pulse)
		return 0;
	timer_disarm(k, KIOSK_TIMER_KIND_DOOR_CONFIRM, n);
	/* A door read open stays watched, like one open at boot. */
	if (lk->door_state == KIOSK_DOOR_STATE_UNLOCKING)
		lk->door_state = KIOSK_DOOR_STATE_CLOSED;
	opening_clear(lk);
	session_door_done(k, n, true);
	return 0;
}

static void on_session_timer(struct kiosk *k)
{
	struct session *s = &k->session;

	switch (s->state) {
	case SESSION_STATE_DOORS:
		/* The supervisors keep watching; the screen moves on. */
		session_end(k, KIOSK_SCREEN_CLOSE_DOOR, s->waiting,
			    s->n_waiting);
		break;
	case SESSION_STATE_PATRON_PIN:
	case SESSION_STATE_STAFF_PIN:
	case SESSION_STATE_STAFF:
	case SESSION_STATE_RETURN_CARD:
	case SESSION_STATE_CHOOSE:
	case SESSION_STATE_DONE:
		session_idle(k);
		break;
	case SESSION_STATE_IDLE:
		break;
	}
}

/*
 * The person at the screen ends the session. The pickup and return doors
 * it unlocked that have not opened are given up: their patron left.
 */
static void session_cancel(struct kiosk *k)
{
	struct session *s = &k->session;

	for (unsigned i = 0;
	     s->state == SESSION_STATE_DOORS && i < s->n_waiting; i++) {
		struct locker *lk = locker_get(k, s->waiting[i]);

		if ((lk->purpose == KIOSK_PURPOSE_PICKUP ||
		     lk->purpose == KIOSK_PURPOSE_RETURN) &&
		    lk->door_state == KIOSK_DOOR_STATE_UNLOCKING)
			lk->given_up = true;
	}
	session_idle(k);
}

static int on_timer(struct kiosk *k, const struct kiosk_input *in)
{
	struct timer_slot *slot;

	slot = timer_slot(k, in->timer.kind, in->timer.locker);
	if (!slot)
		return -EINVAL;
	/* Disarmed or re-armed since: the firing is stale. */
	if (!slot->armed || k->now_usec < slot->at_usec)
		return 0;
	slot->armed = false;
	switch (in->timer.kind) {
	case KIOSK_TIMER_KIND_SESSION:
		on_session_timer(k);
		break;
	case KIOSK_TIMER_KIND_EXPIRY_SWEEP:
		timer_arm(k, KIOSK_TIMER_KIND_EXPIRY_SWEEP, 0,
			  KIOSK_EXPIRY_SWEEP_USEC);
		sweep(k);
		break;
	case KIOSK_TIMER_KIND_DOOR_CONFIRM:
		door_not_opened(k, in->timer.locker);
		break;
	case KIOSK_TIMER_KIND_DOOR_LEFT_OPEN:
		door_left_open(k, in->timer.locker);
		break;
	}
	return 0;
}

int kiosk_handle(struct kiosk *k, const struct kiosk_input *in,
		 struct kiosk_actions *ret)
{
	int r = -EINVAL;

	if (!k || !in || !ret)
		return -EINVAL;
	if (ret->n != 0)
		return -ENOBUFS;
	k->command[0] = '\0';
	if (in->actor && in->actor[0]) {
		size_t n = strlen(in->actor);

		/* Said whole in the event log, or not taken. */
		if (n > KIOSK_ACTOR_MAX - sizeof(ACTOR_SERVICE))
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (in->actor[i] < '!' || in->actor[i] > '~')
				return -EINVAL;
	}
	if (in->command && in->command[0]) {
		size_t n = strlen(in->command);

		/* Only these carry out a server command; see kiosk.h. */
		if (!in->service || n > KIOSK_COMMAND_ID_MAX ||
		    (in->type != KIOSK_INPUT_OPEN &&
		     in->type != KIOSK_INPUT_DISABLE &&
		     in->type != KIOSK_INPUT_ENABLE))
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (in->command[i] < '!' || in->command[i] > '~')
				return -EINVAL;
		memcpy(k->command, in->command, n + 1);
	}
	k->now_usec = in->now_usec;
	k->wall_usec = in->wall_usec;
	k->out = ret;
	k->overflow = false;

	switch (in->type) {
	case KIOSK_INPUT_START:
		r = on_start(k);
		break;
	case KIOSK_INPUT_CREDENTIAL:
		r = on_credential(k, in);
		break;
	case KIOSK_INPUT_PIN:
		r = on_pin(k, in);
		break;
	case KIOSK_INPUT_CANCEL:
		session_cancel(k);
		r = 0;
		break;
	case KIOSK_INPUT_RETURN_START:
		r = on_return_start(k);
		break;
	case KIOSK_INPUT_RETURN_ITEM:
		r = on_return_item(k, in->credential);
		break;
	case KIOSK_INPUT_DOOR:
		r = on_door(k, in);
		break;
	case KIOSK_INPUT_TIMER:
		r = on_timer(k, in);
		break;
	case KIOSK_INPUT_LOAD:
		r = on_load(k, in);
		break;
	case KIOSK_INPUT_UNLOAD:
		r = on_unload(k, in);
		break;
	case KIOSK_INPUT_OPEN:
		r = on_open(k, in);
		break;
	case KIOSK_INPUT_DISABLE:
		r = on_set_disabled(k, in, true);
		break;
	case KIOSK_INPUT_ENABLE:
		r = on_set_disabled(k, in, false);
		break;
	case KIOSK_INPUT_UNLOCK_FAILED:
		r = on_unlock_failed(k, in);
		break;
	case KIOSK_INPUT_PIN_CHECKED:
		r = on_pin_checked(k, in);
		break;
	case KIOSK_INPUT_PICKUP:
		r = on_pickup(k, in);
		break;
	}
	k->out = NULL;
	k->command[0] = '\0';
	return k->overflow ? -ENOBUFS : r;
}

/* ---- construction and loading ---- */

static bool config_valid(const struct kiosk_config *c)
{
	unsigned i;

	if (!c || !c->site_key || c->site_key_len == 0 || !c->lockers ||
	    c->n_lockers < 1 || c->n_lockers > KIOSK_LOCKERS_MAX ||
	    c->pin_max_attempts < 1 || c->max_holds < 1)
		return false;
	for (i = 0; i < c->n_lockers; i++) {
		const struct kiosk_locker_config *l = &c->lockers[i];

		if ((unsigned)l->size > KIOSK_SIZE_LARGE ||
		    (unsigned)l->kind > KIOSK_LOCKER_KIND_RETURN ||
		    l->pulse_ms < 1 || l->pulse_ms > KIOSK_PULSE_MS_MAX)
			return false;
	}
	return true;
}

struct kiosk *kiosk_new(const struct kiosk_config *config)
{
	struct kiosk *k;
	unsigned i;

	if (!config_valid(config)) {
		errno = EINVAL;
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->site_key = malloc(config->site_key_len);
	k->holds = calloc(config->max_holds, sizeof(*k->holds));
	if (!k->site_key || !k->holds) {
		kiosk_free(k);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(k->site_key, config->site_key, config->site_key_len);
	k->config = *config;
	k->config.site_key = k->site_key;
	k->config.lockers = NULL; /* copied into k->lockers */
	for (i = 0; i < config->n_lockers; i++)
		k->lockers[i].config = config->lockers[i];
	return k;
}

void kiosk_free(struct kiosk *k)
{
	if (!k)
		return;
	check_drop(k);
	free(k->site_key);
	free(k->holds);
	free(k);
}

static bool hold_valid(const struct kiosk_hold *h)
{
	unsigned i;

	if (!string_fits(h->id, sizeof(h->id)) || !h->id[0] ||
	    !string_fits(h->patron_name, sizeof(h->patron_name)) ||
	    !string_fits(h->pin_hash, sizeof(h->pin_hash)) ||
	    (unsigned)h->size > KIOSK_SIZE_LARGE ||
	    (unsigned)h->state > KIOSK_HOLD_STATE_UNLOADED ||
	    h->n_credentials > KIOSK_HOLD_CREDENTIALS_MAX ||
	    h->n_items > KIOSK_HOLD_ITEMS_MAX)
		return false;
	for (i = 0; i < h->n_credentials; i++)
		if (!credential_is_hmac(h->credential_hmacs[i]))
			return false;
	return !h->code_hmac[0] || credential_is_hmac(h->code_hmac);
}

int kiosk_add_hold(struct kiosk *k, const struct kiosk_hold *h)
{
	if (!k || !h || !hold_valid(h))
		return -EINVAL;
	switch (h->state) {
	case KIOSK_HOLD_STATE_PICKED_UP:
	case KIOSK_HOLD_STATE_UNLOADED:
		return 0; /* finished: nothing left for the kiosk to do */
	case KIOSK_HOLD_STATE_PENDING:
		if (h->locker != 0)
			return -EINVAL;
		break;
	case KIOSK_HOLD_STATE_LOADED:
	case KIOSK_HOLD_STATE_EXPIRED:
		if (!locker_valid(k, h->locker) ||
		    k->lockers[h->locker - 1].config.kind !=
			    KIOSK_LOCKER_KIND_HOLD)
			return -EINVAL;
		break;
	}
	if (hold_find(k, h->id))
		return -EEXIST;
	/* A locker holds one hold: none there, none being loaded there. */
	if (h->locker &&
	    (locker_hold(k, h->locker) ||
	     k->lockers[h->locker - 1].purpose == KIOSK_PURPOSE_LOAD))
		return -EINVAL;
	if (k->n_holds >= k->config.max_holds)
		return -ENOSPC;
	k->holds[k->n_holds++] = *h;
	return 0;
}

/* The locker whose LOAD opening is for hold id, or NULL. */
static const struct locker *loading(const struct kiosk *k, const char *id)
{
	for (unsigned i = 0; i < k->config.n_lockers; i++)
		if (k->lockers[i].purpose == KIOSK_PURPOSE_LOAD &&
		    strcmp(k->lockers[i].hold_id, id) == 0)
			return &k->lockers[i];
	return NULL;
}

int kiosk_put_hold(struct kiosk *k, const struct kiosk_hold *h)
{
	struct kiosk_hold *known;

	if (!k || !h || !hold_valid(h) ||
	    h->state != KIOSK_HOLD_STATE_PENDING || h->locker != 0)
		return -EINVAL;
	known = hold_find(k, h->id);
	if (!known)
		return kiosk_add_hold(k, h);
	switch (known->state) {
	case KIOSK_HOLD_STATE_PENDING:
		*known = *h;
		return 0;
	case KIOSK_HOLD_STATE_LOADED:
	case KIOSK_HOLD_STATE_EXPIRED:
		/* The kiosk's own state stands; the sweep sees the expiry. */
		known->expires_at_usec = h->expires_at_usec;
		return 0;
	case KIOSK_HOLD_STATE_PICKED_UP:
	case KIOSK_HOLD_STATE_UNLOADED:
		break;
	}
	return 0;
}

int kiosk_set_hold_credentials(struct kiosk *k, const struct kiosk_hold *h)
{
	struct kiosk_hold *known;

	if (!k || !h || !hold_valid(h))
		return -EINVAL;
	known = hold_find(k, h->id);
	if (!known || (known->state != KIOSK_HOLD_STATE_LOADED &&
		       known->state != KIOSK_HOLD_STATE_EXPIRED))
		return -ENOENT;
	known->n_credentials = h->n_credentials;
	memcpy(known->credential_hmacs, h->credential_hmacs,
	       sizeof(known->credential_hmacs));
	memcpy(known->code_hmac, h->code_hmac, sizeof(known->code_hmac));
	memcpy(known->pin_hash, h->pin_hash, sizeof(known->pin_hash));
	return 0;
}

int kiosk_can_remove_hold(const struct kiosk *k, const char *id)
{
	const struct kiosk_hold *h;

	if (!k || !id)
		return -EINVAL;
	h = hold_find(k, id);
	if (!h)
		return -ENOENT;
	if (h->state != KIOSK_HOLD_STATE_PENDING || loading(k, id))
		return -EBUSY;
	return 0;
}

int kiosk_remove_hold(struct kiosk *k, const char *id)
{
	int err = kiosk_can_remove_hold(k, id);

	if (err == 0)
		hold_drop(k, hold_find(k, id));
	return err;
}

unsigned kiosk_remove_holds(struct kiosk *k, const char *const *ids, unsigned n)
{
	unsigned i, j, removed = 0;

	if (!k || !ids)
		return 0;
	/* Marked first (no hold has an empty id), then closed up at once. */
	for (i = 0; i < n; i++) {
		if (!ids[i] || !ids[i][0] ||
		    kiosk_can_remove_hold(k, ids[i]) != 0)
			continue;
		hold_find(k, ids[i])->id[0] = '\0';
		removed++;
	}
	if (!removed)
		return 0;
	for (i = 0, j = 0; i < k->n_holds; i++) {
		if (!k->holds[i].id[0])
			continue;
		if (i != j)
			k->holds[j] = k->holds[i];
		j++;
	}
	k->n_holds = j;
	return removed;
}

int kiosk_remove_staff(struct kiosk *k, const char *credential_hmac)
{
	struct kiosk_staff *s;
	size_t i;

	if (!k || !credential_hmac)
		return -EINVAL;
	s = staff_find(k, credential_hmac);
	if (!s)
		return -ENOENT;
	i = (size_t)(s - k->staff);
	memmove(s, s + 1, (k->n_staff - i - 1) * sizeof(*s));
	k->n_staff--;
	return 0;
}

int kiosk_set_guard(struct kiosk *k, const struct kiosk_guard *g)
{
	struct kiosk_staff *staff;
	struct kiosk_hold *h;

	if (!k || !g || !string_fits(g->key, sizeof(g->key)))
		return -EINVAL;
	switch (g->kind) {
	case KIOSK_GUARD_KIND_CODES:
		k->code_budget_usec = g->until_usec;
		return 0;
	case KIOSK_GUARD_KIND_HOLD:
		h = hold_find(k, g->key);
		if (!h)
			return -ENOENT;
		h->pin_failures = g->failures;
		h->pin_locked_until_usec = g->until_usec;
		return 0;
	case KIOSK_GUARD_KIND_STAFF:
		staff = staff_find(k, g->key);
		if (!staff)
			return -ENOENT;
		staff->pin_failures = g->failures;
		staff->pin_locked_until_usec = g->until_usec;
		return 0;
	}
	return -EINVAL;
}

void kiosk_set_pin_required(struct kiosk *k, bool required)
{
	if (k)
		k->config.pin_required = required;
}

void kiosk_set_partial_pickup(struct kiosk *k, bool allowed)
{
	if (k)
		k->partial_pickup = allowed;
}

int kiosk_put_staff(struct kiosk *k, const struct kiosk_staff *s)
{
	struct kiosk_staff *known;

	if (!k || !s || !credential_is_hmac(s->credential_hmac) ||
	    !string_fits(s->pin_hash, sizeof(s->pin_hash)) || !s->pin_hash[0] ||
	    (unsigned)s->role > KIOSK_STAFF_ROLE_ADMIN)
		return -EINVAL;
	known = staff_find(k, s->credential_hmac);
	if (known) {
		/* Wrong PINs count against the PIN they were typed for. */
		bool same_pin = !strcmp(known->pin_hash, s->pin_hash);
		unsigned failures = known->pin_failures;
		int64_t until_usec = known->pin_locked_until_usec;

		*known = *s;
		if (same_pin) {
			known->pin_failures = failures;
			known->pin_locked_until_usec = until_usec;
		}
		return 0;
	}
	if (k->n_staff >= KIOSK_STAFF_MAX)
		return -ENOSPC;
	k->staff[k->n_staff++] = *s;
	return 0;
}

int kiosk_set_locker_state(struct kiosk *k, unsigned locker,
			   const struct kiosk_locker_state *state)
{
	struct locker *lk;

	if (!k || !state || !locker_valid(k, locker) ||
	    (unsigned)state->fault > KIOSK_FAULT_INTERRUPTED ||
	    (unsigned)state->opening > KIOSK_PURPOSE_MAINTENANCE)
		return -EINVAL;
	lk = locker_get(k, locker);
	lk->disabled = state->disabled;
	lk->fault = state->fault;
	lk->returns = state->returns;
	/* Maintenance changes no contents: nothing to check after it. */
	lk->interrupted = state->opening != KIOSK_PURPOSE_NONE &&
			  state->opening != KIOSK_PURPOSE_MAINTENANCE;
	return 0;
}

int kiosk_set_door(struct kiosk *k, unsigned locker, bool open)
{
	if (!k || !locker_valid(k, locker))
		return -EINVAL;
	if (k->started)
		return -EBUSY;
	locker_get(k, locker)->door_open = open;
	return 0;
}

/* ---- queries ---- */

int kiosk_get_locker(const struct kiosk *k, unsigned n,
		     struct kiosk_locker_info *ret)
{
	const struct locker *lk;
	const struct kiosk_hold *h;

	if (!k || !ret || !locker_valid(k, n))
		return -EINVAL;
	lk = &k->lockers[n - 1];
	h = locker_hold(k, n);
	memset(ret, 0, sizeof(*ret));
	ret->number = n;
	ret->size = lk->config.size;
	ret->kind = lk->config.kind;
	ret->disabled = lk->disabled;
	ret->fault = lk->fault;
	ret->door_open = lk->door_open;
	ret->door_state = lk->door_state;
	ret->purpose = lk->purpose;
	ret->alarm_left_open = lk->alarm_left_open;
	ret->alarm_forced_open = lk->alarm_forced_open;
	copy(ret->hold_id, sizeof(ret->hold_id), h ? h->id : "");
	ret->returns = lk->returns;
	return 0;
}

bool kiosk_is_staff(const struct kiosk *k, const char *credential_hmac)
{
	return staff_find((struct kiosk *)k, credential_hmac) != NULL;
}

bool kiosk_has_room(const struct kiosk *k, unsigned holds, unsigned staff)
{
	return k->n_holds + holds <= k->config.max_holds &&
	       k->n_staff + staff <= KIOSK_STAFF_MAX;
}

unsigned kiosk_get_n_lockers(const struct kiosk *k)
{
	return k ? k->config.n_lockers : 0;
}

const struct kiosk_hold *kiosk_get_hold(const struct kiosk *k, const char *id)
{
	return k && id ? hold_find(k, id) : NULL;
}

const struct kiosk_hold *kiosk_get_hold_at(const struct kiosk *k, unsigned i)
{
	return k && i < k->n_holds ? &k->holds[i] : NULL;
}

unsigned kiosk_get_return_items(const struct kiosk *k, unsigned n,
				const char (**ret)[KIOSK_BARCODE_MAX + 1])
{
	const struct locker *lk;

	*ret = NULL;
	if (!locker_valid(k, n))
		return 0;
	lk = &k->lockers[n - 1];
	*ret = (const char(*)[KIOSK_BARCODE_MAX + 1]) lk->return_items;
	return lk->n_return_items;
}

const struct kiosk_screen_info *kiosk_get_screen(const struct kiosk *k)
{
	return k ? &k->screen : NULL;
}

const struct kiosk_pin_check *kiosk_get_pin_check(const struct kiosk *k)
{
	return k && k->checking ? &k->check : NULL;
}

bool kiosk_in_staff_session(const struct kiosk *k)
{
	return k && k->session.state == SESSION_STATE_STAFF;
}

/* ---- names ---- */

static const char *const record_type_names[] = {
	[KIOSK_RECORD_LOCKER_UNLOCKED] = "locker_unlocked",
	[KIOSK_RECORD_HOLD_LOADED] = "hold_loaded",
	[KIOSK_RECORD_HOLD_PICKED_UP] = "hold_picked_up",
	[KIOSK_RECORD_HOLD_EXPIRED] = "hold_expired",
	[KIOSK_RECORD_HOLD_UNLOADED] = "hold_unloaded",
	[KIOSK_RECORD_RETURN_DEPOSITED] = "return_deposited",
	[KIOSK_RECORD_RETURNS_COLLECTED] = "returns_collected",
	[KIOSK_RECORD_LOCKER_FAULT] = "locker_fault",
	[KIOSK_RECORD_LOCKER_DISABLED] = "locker_disabled",
	[KIOSK_RECORD_LOCKER_ENABLED] = "locker_enabled",
	[KIOSK_RECORD_DOOR_FORCED_OPEN] = "door_forced_open",
	[KIOSK_RECORD_DOOR_LEFT_OPEN] = "door_left_open",
	[KIOSK_RECORD_DOOR_CLOSED] = "door_closed",
	[KIOSK_RECORD_PIN_LOCKOUT] = "pin_lockout",
	[KIOSK_RECORD_COMMAND_DONE] = "command_done",
};

static const char *const purpose_names[] = {
	[KIOSK_PURPOSE_NONE] = "none",
	[KIOSK_PURPOSE_PICKUP] = "pickup",
	[KIOSK_PURPOSE_LOAD] = "load",
	[KIOSK_PURPOSE_UNLOAD] = "unload",
	[KIOSK_PURPOSE_RETURN] = "return",
	[KIOSK_PURPOSE_MAINTENANCE] = "maintenance",
};

static const char *const size_names[] = {
	[KIOSK_SIZE_SMALL] = "small",
	[KIOSK_SIZE_MEDIUM] = "medium",
	[KIOSK_SIZE_LARGE] = "large",
};

static const char *const hold_state_names[] = {
	[KIOSK_HOLD_STATE_PENDING] = "pending",
	[KIOSK_HOLD_STATE_LOADED] = "loaded",
	[KIOSK_HOLD_STATE_EXPIRED] = "expired",
	[KIOSK_HOLD_STATE_PICKED_UP] = "picked_up",
	[KIOSK_HOLD_STATE_UNLOADED] = "unloaded",
};

static const char *const door_state_names[] = {
	[KIOSK_DOOR_STATE_CLOSED] = "closed",
	[KIOSK_DOOR_STATE_UNLOCKING] = "unlocking",
	[KIOSK_DOOR_STATE_OPEN] = "open",
	[KIOSK_DOOR_STATE_FORCED] = "forced",
};

static const char *const fault_names[] = {
	[KIOSK_FAULT_NONE] = "none",
	[KIOSK_FAULT_NOT_OPENED] = "not_opened",
	[KIOSK_FAULT_INTERRUPTED] = "interrupted",
};

static const char *const screen_names[] = {
	[KIOSK_SCREEN_IDLE] = "idle",
	[KIOSK_SCREEN_PIN] = "pin",
	[KIOSK_SCREEN_WRONG_PIN] = "wrong_pin",
	[KIOSK_SCREEN_LOCKED_OUT] = "locked_out",
	[KIOSK_SCREEN_UNKNOWN_CARD] = "unknown_card",
	[KIOSK_SCREEN_NO_HOLDS] = "no_holds",
	[KIOSK_SCREEN_PIN_NOT_SET] = "pin_not_set",
	[KIOSK_SCREEN_LOCKERS_OPEN] = "lockers_open",
	[KIOSK_SCREEN_CHOOSE_BOOKS] = "choose_books",
	[KIOSK_SCREEN_LOCKER_FAULT] = "locker_fault",
	[KIOSK_SCREEN_CLOSE_DOOR] = "close_door",
	[KIOSK_SCREEN_THANK_YOU] = "thank_you",
	[KIOSK_SCREEN_STAFF_PIN] = "staff_pin",
	[KIOSK_SCREEN_STAFF_MENU] = "staff_menu",
	[KIOSK_SCREEN_RETURN_IDENTIFY] = "return_identify",
	[KIOSK_SCREEN_RETURN_OPEN] = "return_open",
	[KIOSK_SCREEN_RETURN_FULL] = "return_full",
	[KIOSK_SCREEN_BAD_CREDENTIAL] = "bad_credential",
};

/* A new enum value without a name fails the build here. */
_Static_assert(ARRAY_SIZE(record_type_names) == KIOSK_RECORD_COMMAND_DONE + 1,
	       "record type names");
_Static_assert(ARRAY_SIZE(purpose_names) == KIOSK_PURPOSE_MAINTENANCE + 1,
	       "purpose names");
_Static_assert(ARRAY_SIZE(size_names) == KIOSK_SIZE_LARGE + 1, "size names");
_Static_assert(ARRAY_SIZE(hold_state_names) == KIOSK_HOLD_STATE_UNLOADED + 1,
	       "hold state names");
_Static_assert(ARRAY_SIZE(door_state_names) == KIOSK_DOOR_STATE_FORCED + 1,
	       "door state names");
_Static_assert(ARRAY_SIZE(fault_names) == KIOSK_FAULT_INTERRUPTED + 1,
	       "fault names");
_Static_assert(ARRAY_SIZE(screen_names) == KIOSK_SCREEN_CHOOSE_BOOKS + 1,
	       "screen names");

static const char *name_of(const char *const *names, size_t n, unsigned value)
{
	return value < n ? names[value] : NULL;
}

static int value_of(const char *const *names, size_t n, const char *s,
		    unsigned *ret)
{
	unsigned i;

	for (i = 0; s && i < n; i++) {
		if (!strcmp(names[i], s)) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *kiosk_record_type_to_string(enum kiosk_record_type t)
{
	return name_of(record_type_names, ARRAY_SIZE(record_type_names), t);
}

const char *kiosk_purpose_to_string(enum kiosk_purpose p)
{
	return name_of(purpose_names, ARRAY_SIZE(purpose_names), p);
}

const char *kiosk_size_to_string(enum kiosk_size s)
{
	return name_of(size_names, ARRAY_SIZE(size_names), s);
}

int kiosk_size_from_string(const char *s, enum kiosk_size *ret)
{
	unsigned v;
	int r = value_of(size_names, ARRAY_SIZE(size_names), s, &v);

	if (r == 0)
		*ret = (enum kiosk_size)v;
	return r;
}

const char *kiosk_hold_state_to_string(enum kiosk_hold_state s)
{
	return name_of(hold_state_names, ARRAY_SIZE(hold_state_names), s);
}

int kiosk_hold_state_from_string(const char *s, enum kiosk_hold_state *ret)
{
	unsigned v;
	int r = value_of(hold_state_names, ARRAY_SIZE(hold_state_names), s, &v);

	if (r == 0)
		*ret = (enum kiosk_hold_state)v;
	return r;
}

const char *kiosk_door_state_to_string(enum kiosk_door_state s)
{
	return name_of(door_state_names, ARRAY_SIZE(door_state_names), s);
}

const char *kiosk_fault_to_string(enum kiosk_fault f)
{
	return name_of(fault_names, ARRAY_SIZE(fault_names), f);
}

const char *kiosk_screen_to_string(enum kiosk_screen s)
{
	return name_of(screen_names, ARRAY_SIZE(screen_names), s);
}
