/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the kiosk core, driven the way lokerd drives it: inputs in,
 * actions out, with a fake clock and a fake timer table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kiosk.h"

#define SEC		 1000000ULL
#define CONFIRM_USEC	 (10 * SEC)
#define LEFT_OPEN_USEC	 (120 * SEC)
#define SESSION_USEC	 (60 * SEC)
#define STAFF_USEC	 (300 * SEC)
#define LOCKOUT_USEC	 (300 * SEC)
#define PIN_ATTEMPTS	 3
#define MAX_HOLDS	 32
#define WALL_START_USEC	 1700000000000000LL
#define SITE_KEY	 "lokerbuku-test-site-key"
#define CARD		 "uid:04A1B2C3D4E5F6"
#define OTHER_CARD	 "card:M-0042"
#define STAFF_CARD	 "uid:DEADBEEF"
#define OTHER_STAFF_CARD "uid:CAFEF00D"
#define CODE		 "code:12345678"
#define PATRON_PIN	 "2468"
#define STAFF_PIN	 "1357"
#define PIN_ITERATIONS	 1000 /* fast; the kiosk reads it from the hash */
#define N_TIMER_KINDS	 (KIOSK_TIMER_KIND_DOOR_LEFT_OPEN + 1)

static char patron_pin_hash[PIN_HASH_MAX + 1];
static char staff_pin_hash[PIN_HASH_MAX + 1];

/* Lockers 1-5 take holds (small, small, medium, medium, large), 6-7 returns. */
static const struct kiosk_locker_config test_lockers[] = {
	{ KIOSK_SIZE_SMALL, KIOSK_LOCKER_KIND_HOLD, 500, false },
	{ KIOSK_SIZE_SMALL, KIOSK_LOCKER_KIND_HOLD, 500, false },
	{ KIOSK_SIZE_MEDIUM, KIOSK_LOCKER_KIND_HOLD, 500, false },
	{ KIOSK_SIZE_MEDIUM, KIOSK_LOCKER_KIND_HOLD, 500, false },
	{ KIOSK_SIZE_LARGE, KIOSK_LOCKER_KIND_HOLD, 800, false },
	{ KIOSK_SIZE_LARGE, KIOSK_LOCKER_KIND_RETURN, 500, false },
	{ KIOSK_SIZE_LARGE, KIOSK_LOCKER_KIND_RETURN, 500, false },
};

struct armed_timer {
	bool armed;
	uint64_t at_usec;
};

/* What lokerd would hold around a core: clocks, timers, the last batch. */
struct fx {
	struct kiosk *k;
	struct kiosk_config config;
	struct kiosk_actions out;
	uint64_t now_usec;
	int64_t wall_usec;
	struct armed_timer timers[N_TIMER_KINDS][KIOSK_LOCKERS_MAX + 1];
	/* What the GUARD actions saved, as the store would keep it. */
	struct kiosk_guard guards[64];
	unsigned n_guards;
};

static struct kiosk_config test_config(void)
{
	return (struct kiosk_config){
		.site_key = (const uint8_t *)SITE_KEY,
		.site_key_len = strlen(SITE_KEY),
		.n_lockers = sizeof(test_lockers) / sizeof(test_lockers[0]),
		.lockers = test_lockers,
		.pin_required = false,
		.pin_max_attempts = PIN_ATTEMPTS,
		.pin_lockout_usec = LOCKOUT_USEC,
		.session_timeout_usec = SESSION_USEC,
		.staff_session_timeout_usec = STAFF_USEC,
		.door_confirm_timeout_usec = CONFIRM_USEC,
		.door_left_open_usec = LEFT_OPEN_USEC,
		.max_holds = MAX_HOLDS,
	};
}

static void hmac_of(const char *raw, char ret[CREDENTIAL_HMAC_HEX_LEN + 1])
{
	char normalised[CREDENTIAL_MAX + 1];

	assert_int_equal(
		credential_normalise(raw, normalised, sizeof(normalised)), 0);
	assert_int_equal(credential_hmac((const uint8_t *)SITE_KEY,
					 strlen(SITE_KEY), normalised, ret),
			 0);
}

static void actor_of(const char *role, const char *raw,
		     char ret[KIOSK_ACTOR_MAX + 1])
{
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];

	hmac_of(raw, hmac);
	strcpy(ret, role);
	strcat(ret, ":");
	strcat(ret, hmac);
}

static void add_staff(struct kiosk *k, const char *raw)
{
	struct kiosk_staff s = { .role = KIOSK_STAFF_ROLE_STAFF };

	hmac_of(raw, s.credential_hmac);
	strcpy(s.pin_hash, staff_pin_hash);
	assert_int_equal(kiosk_put_staff(k, &s), 0);
}

/* A core with the test lockers and two staff members, not started. */
static void fx_rebuild(struct fx *fx)
{
	kiosk_free(fx->k);
	fx->k = kiosk_new(&fx->config);
	assert_non_null(fx->k);
	add_staff(fx->k, STAFF_CARD);
	add_staff(fx->k, OTHER_STAFF_CARD);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->config = test_config();
	fx->now_usec = 1000 * SEC;
	fx->wall_usec = WALL_START_USEC;
	fx_rebuild(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	kiosk_free(fx->k);
	free(fx);
	return 0;
}

static int group_setup(void **state)
{
	if (credential_pin_hash(PATRON_PIN, PIN_ITERATIONS, patron_pin_hash) <
		    0 ||
	    credential_pin_hash(STAFF_PIN, PIN_ITERATIONS, staff_pin_hash) < 0)
		return -1;
	return 0;
}

static void advance(struct fx *fx, uint64_t usec)
{
	fx->now_usec += usec;
	fx->wall_usec += (int64_t)usec;
}

static void guard_keep(struct fx *fx, const struct kiosk_guard *g)
{
	unsigned i;

	for (i = 0; i < fx->n_guards; i++)
		if (fx->guards[i].kind == g->kind &&
		    !strcmp(fx->guards[i].key, g->key))
			break;
	assert_true(i < sizeof(fx->guards) / sizeof(fx->guards[0]));
	fx->guards[i] = *g;
	if (i == fx->n_guards)
		fx->n_guards++;
}

/* Feeds one input stamped with the fake clocks and tracks timer actions. */
static int feed(struct fx *fx, struct kiosk_input in)
{
	unsigned i;
	int r;

	in.now_usec = fx->now_usec;
	in.wall_usec = fx->wall_usec;
	fx->out.n = 0;
	r = kiosk_handle(fx->k, &in, &fx->out);
	assert_true(fx->out.n <= KIOSK_ACTIONS_MAX);
	for (i = 0; i < fx->out.n; i++) {
		const struct kiosk_action *a = &fx->out.a[i];
		struct armed_timer *t =
			&fx->timers[a->timer.kind][a->timer.locker];

		if (a->type == KIOSK_ACTION_GUARD)
			guard_keep(fx, &a->guard);
		if (a->type == KIOSK_ACTION_TIMER_ARM) {
			t->armed = true;
			t->at_usec = a->at_usec;
		} else if (a->type == KIOSK_ACTION_TIMER_DISARM) {
			t->armed = false;
		}
	}
	return r;
}

static int start(struct fx *fx)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_START });
}

static int tap(struct fx *fx, const char *raw)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_CREDENTIAL,
					      .credential = raw });
}

/* The PIN_CHECK action of the last input, or 0. */
static uint64_t check_asked(const struct fx *fx)
{
	for (unsigned i = 0; i < fx->out.n; i++)
		if (fx->out.a[i].type == KIOSK_ACTION_PIN_CHECK)
			return fx->out.a[i].check_id;
	return 0;
}

/* The answer to a check: @matched as kiosk_pin_check_verify() gives it. */
static int answer_pin(struct fx *fx, uint64_t check_id, unsigned matched)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_PIN_CHECKED,
					      .check_id = check_id,
					      .pin_matched = matched });
}

/*
 * A PIN typed, and its check's answer fed back as lokerd's thread would:
 * the actions and screen are the answer's.
 */
static int type_pin(struct fx *fx, const char *pin)
{
	const struct kiosk_pin_check *c;
	uint64_t id;
	int r;

	r = feed(fx,
		 (struct kiosk_input){ .type = KIOSK_INPUT_PIN, .pin = pin });
	id = check_asked(fx);
	if (r < 0 || !id)
		return r;
	c = kiosk_get_pin_check(fx->k);
	assert_non_null(c);
	assert_int_equal(c->id, id);
	assert_string_equal(c->pin, pin);
	return answer_pin(fx, id, kiosk_pin_check_verify(c));
}

static int door(struct fx *fx, unsigned locker, bool open)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_DOOR,
					      .locker = locker,
					      .door_open = open });
}

static int command(struct fx *fx, enum kiosk_input_type type,
		   const char *hold_id, unsigned locker)
{
	return feed(fx, (struct kiosk_input){ .type = type,
					      .hold_id = hold_id,
					      .locker = locker });
}

static int service(struct fx *fx, enum kiosk_input_type type,
		   const char *hold_id, unsigned locker)
{
	return feed(fx, (struct kiosk_input){ .type = type,
					      .service = true,
					      .hold_id = hold_id,
					      .locker = locker });
}

static int timer_input(struct fx *fx, enum kiosk_timer_kind kind,
		       unsigned locker)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_TIMER,
					      .timer = { kind, locker } });
}

static bool armed(const struct fx *fx, enum kiosk_timer_kind kind,
		  unsigned locker)
{
	return fx->timers[kind][locker].armed;
}

static uint64_t armed_at(const struct fx *fx, enum kiosk_timer_kind kind,
			 unsigned locker)
{
	assert_true(armed(fx, kind, locker));
	return fx->timers[kind][locker].at_usec;
}

/* Lets time pass until an armed timer fires, as the event loop would. */
static int fire(struct fx *fx, enum kiosk_timer_kind kind, unsigned locker)
{
	uint64_t at_usec = armed_at(fx, kind, locker);

	if (at_usec > fx->now_usec)
		advance(fx, at_usec - fx->now_usec);
	fx->timers[kind][locker].armed = false;
	return timer_input(fx, kind, locker);
}

static int index_of_record(const struct fx *fx, enum kiosk_record_type type)
{
	unsigned i;

	for (i = 0; i < fx->out.n; i++)
		if (fx->out.a[i].type == KIOSK_ACTION_RECORD &&
		    fx->out.a[i].record.type == type)
			return (int)i;
	return -1;
}

static const struct kiosk_record *find_record(const struct fx *fx,
					      enum kiosk_record_type type)
{
	int i = index_of_record(fx, type);

	return i < 0 ? NULL : &fx->out.a[i].record;
}

static unsigned count_records(const struct fx *fx, enum kiosk_record_type type)
{
	unsigned i, n = 0;

	for (i = 0; i < fx->out.n; i++)
		if (fx->out.a[i].type == KIOSK_ACTION_RECORD &&
		    fx->out.a[i].record.type == type)
			n++;
	return n;
}

static unsigned count_actions(const struct fx *fx, enum kiosk_action_type type)
{
	unsigned i, n = 0;

	for (i = 0; i < fx->out.n; i++)
		if (fx->out.a[i].type == type)
			n++;
	return n;
}

static int index_of_unlock(const struct fx *fx, unsigned locker)
{
	unsigned i;

	for (i = 0; i < fx->out.n; i++)
		if (fx->out.a[i].type == KIOSK_ACTION_UNLOCK &&
		    fx->out.a[i].locker == locker)
			return (int)i;
	return -1;
}

/* The screen the last batch showed; it must have shown one. */
static const struct kiosk_screen_info *screen(const struct fx *fx)
{
	const struct kiosk_screen_info *s = NULL;
	unsigned i;

	for (i = 0; i < fx->out.n; i++)
		if (fx->out.a[i].type == KIOSK_ACTION_SCREEN)
			s = &fx->out.a[i].screen;
	assert_non_null(s);
	assert_memory_equal(s, kiosk_get_screen(fx->k), sizeof(*s));
	return s;
}

static struct kiosk_locker_info locker(const struct fx *fx, unsigned n)
{
	struct kiosk_locker_info info;

	assert_int_equal(kiosk_get_locker(fx->k, n, &info), 0);
	return info;
}

static struct kiosk_hold hold_make(const char *id, enum kiosk_hold_state state,
				   unsigned locker, enum kiosk_size size)
{
	struct kiosk_hold h = { .state = state,
				.locker = locker,
				.size = size };

	strcpy(h.id, id);
	if (state == KIOSK_HOLD_STATE_LOADED)
		h.loaded_at_usec = WALL_START_USEC - 3600 * (int64_t)SEC;
	return h;
}

static void hold_add_card(struct kiosk_hold *h, const char *raw)
{
	hmac_of(raw, h->credential_hmacs[h->n_credentials++]);
}

static void add_hold(struct fx *fx, const struct kiosk_hold *h)
{
	assert_int_equal(kiosk_add_hold(fx->k, h), 0);
}

/* The usual case: a small hold for CARD, loaded in locker n, no PIN. */
static void add_loaded(struct fx *fx, const char *id, unsigned n)
{
	struct kiosk_hold h =
		hold_make(id, KIOSK_HOLD_STATE_LOADED, n, KIOSK_SIZE_SMALL);

	hold_add_card(&h, CARD);
	strcpy(h.patron_name, "Sari");
	add_hold(fx, &h);
}

static void add_loaded_with_pin(struct fx *fx, const char *id, unsigned n)
{
	struct kiosk_hold h =
		hold_make(id, KIOSK_HOLD_STATE_LOADED, n, KIOSK_SIZE_SMALL);

	hold_add_card(&h, CARD);
	strcpy(h.pin_hash, patron_pin_hash);
	add_hold(fx, &h);
}

static void add_pending(struct fx *fx, const char *id, enum kiosk_size size)
{
	struct kiosk_hold h = hold_make(id, KIOSK_HOLD_STATE_PENDING, 0, size);

	hold_add_card(&h, CARD);
	add_hold(fx, &h);
}

static void staff_login(struct fx *fx)
{
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	assert_int_equal(type_pin(fx, STAFF_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_MENU);
}

static void picks_up_a_loaded_hold_when_its_card_is_tapped(void **state)
{
	struct fx *fx = *state;
	char actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_record *rec;
	const struct kiosk_screen_info *s;
	int unlocked;

	actor_of("patron", CARD, actor);
	add_loaded(fx, "H1", 3);
	assert_int_equal(start(fx), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_EXPIRY_SWEEP, 0),
			 fx->now_usec + KIOSK_EXPIRY_SWEEP_USEC);

	assert_int_equal(tap(fx, CARD), 0);
	unlocked = index_of_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_true(unlocked >= 0);
	assert_true(index_of_unlock(fx, 3) > unlocked);
	rec = &fx->out.a[unlocked].record;
	assert_int_equal(rec->locker, 3);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_PICKUP);
	assert_int_equal(rec->attempt, 1);
	assert_string_equal(rec->hold_id, "H1");
	assert_string_equal(rec->actor, actor);
	assert_int_equal(fx->out.a[index_of_unlock(fx, 3)].pulse_ms, 500);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3),
			 fx->now_usec + CONFIRM_USEC);
	s = screen(fx);
	assert_int_equal(s->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(s->n_lockers, 1);
	assert_int_equal(s->lockers[0], 3);
	assert_string_equal(s->patron_name, "Sari");
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_UNLOCKING);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_PICKUP);

	advance(fx, 2 * SEC);
	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_string_equal(rec->hold_id, "H1");
	assert_int_equal(rec->locker, 3);
	assert_string_equal(rec->actor, actor);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3));
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 3));
	assert_null(kiosk_get_hold(fx->k, "H1"));
	assert_string_equal(locker(fx, 3).hold_id, "");
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_OPEN);

	advance(fx, 5 * SEC);
	assert_int_equal(door(fx, 3, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_SESSION, 0),
			 fx->now_usec + KIOSK_DONE_SCREEN_USEC);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 3));
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
}

/* A hold of n books for CARD, loaded in locker n_locker. */
static void add_loaded_books(struct fx *fx, const char *id, unsigned n_locker,
			     unsigned n_books)
{
	struct kiosk_hold h = hold_make(id, KIOSK_HOLD_STATE_LOADED, n_locker,
					KIOSK_SIZE_SMALL);

	hold_add_card(&h, CARD);
	strcpy(h.patron_name, "Sari");
	h.n_items = n_books;
	add_hold(fx, &h);
}

static int pickup(struct fx *fx, const struct kiosk_pick *picks, unsigned n)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_PICKUP,
					      .picks = picks,
					      .n_picks = n });
}

static void asks_which_books_before_opening_a_hold_of_several(void **state)
{
	struct fx *fx = *state;
	static const char *const left[] = { "B0002" };
	const struct kiosk_pick pick = { .hold_id = "H1",
					 .n_left = 1,
					 .left = left };
	const struct kiosk_record *rec;

	add_loaded_books(fx, "H1", 3, 3);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);

	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CHOOSE_BOOKS);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 3);
	assert_string_equal(screen(fx)->patron_name, "Sari");
	/* Nothing opens before the patron says what to take. */
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_true(armed(fx, KIOSK_TIMER_KIND_SESSION, 0));

	assert_int_equal(pickup(fx, &pick, 1), 0);
	assert_true(index_of_unlock(fx, 3) >= 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_string_equal(rec->hold_id, "H1");
	assert_int_equal(rec->n_left, 1);
	assert_string_equal(rec->left[0], "B0002");
	/* The hold stays in its locker with the book left, for later. */
	assert_non_null(kiosk_get_hold(fx->k, "H1"));
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->state,
			 KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->n_items, 1);
	assert_string_equal(locker(fx, 3).hold_id, "H1");
	assert_int_equal(door(fx, 3, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);

	/* Back for the last book: one book, so no choice; the hold ends. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_int_equal(rec->n_left, 0);
	assert_null(kiosk_get_hold(fx->k, "H1"));
}

static void opens_every_book_when_the_patron_keeps_the_choice(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;

	add_loaded_books(fx, "H1", 3, 2);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(pickup(fx, NULL, 0), 0);
	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_int_equal(rec->n_left, 0);
	assert_null(kiosk_get_hold(fx->k, "H1"));
}

static void keeps_a_hold_whose_books_are_all_left_shut(void **state)
{
	struct fx *fx = *state;
	static const char *const all[] = { "B1", "B2" };
	static const char *const twice[] = { "B1", "B1" };
	const struct kiosk_pick leave_all = { .hold_id = "H1",
					      .n_left = 2,
					      .left = all };
	const struct kiosk_pick repeated = { .hold_id = "H2",
					     .n_left = 2,
					     .left = twice };
	const struct kiosk_pick stranger = { .hold_id = "H9",
					     .n_left = 1,
					     .left = all };

	add_loaded_books(fx, "H1", 3, 2);
	add_loaded_books(fx, "H2", 4, 3);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(pickup(fx, NULL, 0), -EALREADY);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->n_lockers, 2);
	/* Refused, nothing opened: a repeated barcode, another's hold. */
	assert_int_equal(pickup(fx, &repeated, 1), -EINVAL);
	assert_int_equal(pickup(fx, &stranger, 1), -EINVAL);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen,
			 KIOSK_SCREEN_CHOOSE_BOOKS);

	assert_int_equal(pickup(fx, &leave_all, 1), 0);
	assert_true(index_of_unlock(fx, 4) >= 0);
	assert_true(index_of_unlock(fx, 3) < 0);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 4);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);
}

/*
 * Tapped again while the door unlocks, after a cancel: the new pick is the
 * one the door opens for, and leaving every book gives the door up.
 */
static void takes_the_new_pick_when_tapped_again_while_unlocking(void **state)
{
	struct fx *fx = *state;
	static const char *const one[] = { "B0002" };
	static const char *const all[] = { "B0001", "B0002" };
	const struct kiosk_pick leave_one = { .hold_id = "H1",
					      .n_left = 1,
					      .left = one };
	const struct kiosk_pick leave_all = { .hold_id = "H1",
					      .n_left = 2,
					      .left = all };
	const struct kiosk_input cancel = { .type = KIOSK_INPUT_CANCEL };
	const struct kiosk_record *rec;

	/* Leave B0002, cancel, tap again and take both. */
	add_loaded_books(fx, "H1", 3, 2);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(pickup(fx, &leave_one, 1), 0);
	assert_int_equal(feed(fx, cancel), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CHOOSE_BOOKS);
	assert_int_equal(pickup(fx, NULL, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_int_equal(rec->n_left, 0);
	assert_null(kiosk_get_hold(fx->k, "H1"));

	/* Take both, cancel, tap again and leave both: the door is given up. */
	fx_rebuild(fx);
	add_loaded_books(fx, "H1", 3, 2);
	add_loaded_books(fx, "H2", 4, 2);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(pickup(fx, NULL, 0), 0);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_PICKUP);
	assert_int_equal(feed(fx, cancel), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(pickup(fx, &leave_all, 1), 0);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 4);
	advance(fx, CONFIRM_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_OPENING_DROPPED), 1);
	assert_int_equal(locker(fx, 3).fault, KIOSK_FAULT_NONE);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->state,
			 KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->n_items, 2);
}

static void takes_more_books_when_tapped_again_with_the_door_open(void **state)
{
	struct fx *fx = *state;
	static const char *const two[] = { "B0002", "B0003" };
	static const char *const one[] = { "B0003" };
	const struct kiosk_pick leave_two = { .hold_id = "H1",
					      .n_left = 2,
					      .left = two };
	const struct kiosk_pick leave_one = { .hold_id = "H1",
					      .n_left = 1,
					      .left = one };
	const struct kiosk_record *rec;

	add_loaded_books(fx, "H1", 3, 3);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(pickup(fx, &leave_two, 1), 0);
	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_int_equal(rec->n_left, 2);

	/*
	 * The door still open after the screen moved on (close the door),
	 * the patron taps again and takes one more.
	 */
	advance(fx, SESSION_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CLOSE_DOOR);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CHOOSE_BOOKS);
	assert_int_equal(pickup(fx, &leave_one, 1), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_int_equal(rec->n_left, 1);
	assert_string_equal(rec->left[0], "B0003");
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->n_items, 1);

	/* And the last: one book, no choice; the hold is done. */
	advance(fx, SESSION_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(tap(fx, CARD), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_non_null(rec);
	assert_int_equal(rec->n_left, 0);
	assert_null(kiosk_get_hold(fx->k, "H1"));
}

static void opens_at_once_without_partial_pickup_or_for_one_book(void **state)
{
	struct fx *fx = *state;

	add_loaded_books(fx, "H1", 3, 4);
	assert_int_equal(start(fx), 0);
	/* A v1 server: all or nothing, as before. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);

	fx_rebuild(fx);
	add_loaded_books(fx, "H2", 5, 1);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
}

static void goes_idle_when_nobody_chooses(void **state)
{
	struct fx *fx = *state;

	add_loaded_books(fx, "H1", 3, 2);
	kiosk_set_partial_pickup(fx->k, true);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CHOOSE_BOOKS);
	advance(fx, SESSION_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->state,
			 KIOSK_HOLD_STATE_LOADED);
}

static void gives_up_a_pickup_door_its_patron_cancelled(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 3);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_CANCEL }),
		0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	advance(fx, CONFIRM_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3), 0);
	/* No second pulse, no fault: the patron left, the lock is fine. */
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_OPENING_DROPPED), 1);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3));
	assert_int_equal(locker(fx, 3).fault, KIOSK_FAULT_NONE);
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);
	assert_string_equal(locker(fx, 3).hold_id, "H1");
	/* The patron's next tap opens it again. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_true(index_of_unlock(fx, 3) >= 0);
}

static void takes_a_door_pulled_after_the_cancel_as_a_pickup(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 3);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_CANCEL }),
		0);
	assert_int_equal(door(fx, 3, true), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP));
	assert_null(kiosk_get_hold(fx->k, "H1"));
	assert_int_equal(door(fx, 3, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_OPENING_DROPPED), 0);
	assert_int_equal(locker(fx, 3).fault, KIOSK_FAULT_NONE);
}

static void shows_unknown_card_for_a_card_no_hold_knows(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, "uid:11223344"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_UNKNOWN_CARD);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
}

static void shows_bad_credential_for_an_unreadable_tap(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, "uid:04A1"), -EINVAL);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_BAD_CREDENTIAL);
	assert_int_equal(tap(fx, "hello"), -EINVAL);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_BAD_CREDENTIAL);
	/* Four digits are too easily guessed to be a pickup code. */
	assert_int_equal(tap(fx, "code:1234"), -EINVAL);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_BAD_CREDENTIAL);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
}

static void shows_no_holds_for_a_known_card_with_nothing_loaded(void **state)
{
	struct fx *fx = *state;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_NO_HOLDS);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

static void
asks_for_a_pin_when_policy_requires_it_and_opens_after_the_right_one(
	void **state)
{
	struct fx *fx = *state;

	fx->config.pin_required = true;
	fx_rebuild(fx);
	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);

	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_SESSION, 0),
			 fx->now_usec + SESSION_USEC);

	advance(fx, 3 * SEC);
	assert_int_equal(type_pin(fx, PATRON_PIN), 0);
	assert_true(index_of_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED) <
		    index_of_unlock(fx, 1));
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(screen(fx)->lockers[0], 1);
}

static void
asks_for_a_pin_when_the_hold_has_one_even_without_the_policy(void **state)
{
	struct fx *fx = *state;

	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(type_pin(fx, PATRON_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
}

static void
shows_pin_not_set_when_a_pin_is_required_but_none_is_on_file(void **state)
{
	struct fx *fx = *state;

	fx->config.pin_required = true;
	fx_rebuild(fx);
	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN_NOT_SET);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(type_pin(fx, PATRON_PIN), -EINVAL);
}

static void
counts_wrong_pins_and_locks_the_card_out_until_the_lockout_ends(void **state)
{
	struct fx *fx = *state;
	char actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_record *rec;

	actor_of("patron", CARD, actor);
	add_loaded_with_pin(fx, "H1", 2);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->attempts_left, 3);

	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_WRONG_PIN);
	assert_int_equal(screen(fx)->attempts_left, 2);
	assert_int_equal(type_pin(fx, "1111"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_WRONG_PIN);
	assert_int_equal(screen(fx)->attempts_left, 1);
	assert_int_equal(type_pin(fx, "2222"), 0);
	rec = find_record(fx, KIOSK_RECORD_PIN_LOCKOUT);
	assert_non_null(rec);
	assert_string_equal(rec->actor, actor);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);

	/* The session is over: no keypad to type into. */
	assert_int_equal(type_pin(fx, PATRON_PIN), -EINVAL);

	advance(fx, LOCKOUT_USEC - SEC);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(type_pin(fx, PATRON_PIN), -EINVAL);

	advance(fx, SEC);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(screen(fx)->attempts_left, 3);
	assert_int_equal(type_pin(fx, PATRON_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_true(index_of_unlock(fx, 2) >= 0);
}

static void forgets_earlier_wrong_pins_after_a_right_one(void **state)
{
	struct fx *fx = *state;

	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(screen(fx)->attempts_left, 1);
	assert_int_equal(type_pin(fx, PATRON_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(door(fx, 1, true), 0);
	assert_int_equal(door(fx, 1, false), 0);

	add_loaded_with_pin(fx, "H2", 2);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS);
}

static void goes_idle_when_nobody_types_the_pin(void **state)
{
	struct fx *fx = *state;

	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	assert_int_equal(type_pin(fx, PATRON_PIN), -EINVAL);
}

/* Types a PIN and returns its PIN_CHECK's id, with no answer yet. */
static uint64_t type_pin_unanswered(struct fx *fx, const char *pin)
{
	uint64_t id;

	assert_int_equal(feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_PIN,
							.pin = pin }),
			 0);
	id = check_asked(fx);
	assert_true(id != 0);
	return id;
}

/* The PIN is checked off the loop: nothing opens until the answer. */
static void checks_a_pin_off_the_loop_one_at_a_time(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_pin_check *c;
	uint64_t id;

	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_null(kiosk_get_pin_check(fx->k));
	id = type_pin_unanswered(fx, PATRON_PIN);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen, KIOSK_SCREEN_PIN);
	c = kiosk_get_pin_check(fx->k);
	assert_non_null(c);
	assert_int_equal(c->n_hashes, 1);
	assert_string_equal(c->hashes[0], patron_pin_hash);
	assert_true(kiosk_pin_check_verify(c));
	/* A second PIN while the first is checked is refused. */
	assert_int_equal(feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_PIN,
							.pin = PATRON_PIN }),
			 -EBUSY);
	/* An answer to another check changes nothing. */
	assert_int_equal(answer_pin(fx, id + 1, 1), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_true(index_of_unlock(fx, 1) >= 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen,
			 KIOSK_SCREEN_LOCKERS_OPEN);
	assert_null(kiosk_get_pin_check(fx->k));
	/* Its answer comes once: a second is nothing. */
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_int_equal(fx->out.n, 0);
}

/*
 * The session moves on while its PIN is checked: a new tap, a cancel, the
 * time-out. The answer, right or not, then opens nothing and counts
 * nothing.
 */
static void ignores_the_answer_of_a_session_that_moved_on(void **state)
{
	struct fx *fx = *state;
	uint64_t id;

	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);

	assert_int_equal(tap(fx, CARD), 0);
	id = type_pin_unanswered(fx, PATRON_PIN);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen, KIOSK_SCREEN_PIN);
	assert_null(kiosk_get_pin_check(fx->k));
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(kiosk_get_screen(fx->k)->attempts_left, PIN_ATTEMPTS);

	id = type_pin_unanswered(fx, "0000");
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_CANCEL }),
		0);
	assert_int_equal(answer_pin(fx, id, 0), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen, KIOSK_SCREEN_IDLE);

	assert_int_equal(tap(fx, CARD), 0);
	/* No wrong PIN was counted by the cancelled check. */
	assert_int_equal(kiosk_get_screen(fx->k)->attempts_left, PIN_ATTEMPTS);
	id = type_pin_unanswered(fx, PATRON_PIN);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen, KIOSK_SCREEN_IDLE);
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen, KIOSK_SCREEN_IDLE);

	/* The newest check's answer is the one taken. */
	assert_int_equal(tap(fx, CARD), 0);
	id = type_pin_unanswered(fx, PATRON_PIN);
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_true(index_of_unlock(fx, 1) >= 0);
}

/*
 * The library gives the patron a new PIN while the old one is checked: the
 * old PIN's answer opens nothing and counts nothing; the new PIN opens.
 */
static void opens_nothing_with_a_pin_that_changed_during_its_check(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h =
		hold_make("H1", KIOSK_HOLD_STATE_LOADED, 1, KIOSK_SIZE_SMALL);
	uint64_t id;

	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	id = type_pin_unanswered(fx, PATRON_PIN);
	hold_add_card(&h, CARD);
	assert_int_equal(
		credential_pin_hash("24680", PIN_ITERATIONS, h.pin_hash), 0);
	assert_int_equal(kiosk_set_hold_credentials(fx->k, &h), 0);
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS);

	assert_int_equal(type_pin(fx, "24680"), 0);
	assert_true(index_of_unlock(fx, 1) >= 0);
}

/* A staff card removed while its PIN is checked: nothing to log in to. */
static void ends_the_pin_check_of_a_staff_card_that_went_meanwhile(void **state)
{
	struct fx *fx = *state;
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	uint64_t id;

	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	id = type_pin_unanswered(fx, STAFF_PIN);
	assert_true(kiosk_pin_check_verify(kiosk_get_pin_check(fx->k)));
	hmac_of(STAFF_CARD, hmac);
	assert_int_equal(kiosk_remove_staff(fx->k, hmac), 0);
	assert_int_equal(answer_pin(fx, id, 1), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen,
			 KIOSK_SCREEN_LOCKED_OUT);
	assert_false(kiosk_in_staff_session(fx->k));
}

static void replaces_a_waiting_session_with_a_new_tap(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h =
		hold_make("H2", KIOSK_HOLD_STATE_LOADED, 2, KIOSK_SIZE_SMALL);

	add_loaded_with_pin(fx, "H1", 1);
	hold_add_card(&h, OTHER_CARD);
	add_hold(fx, &h);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	assert_int_equal(tap(fx, OTHER_CARD), 0);
	assert_true(index_of_unlock(fx, 2) >= 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(type_pin(fx, PATRON_PIN), -EINVAL);
}

static void does_not_pulse_twice_when_a_patron_taps_again(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_true(index_of_unlock(fx, 1) >= 0);

	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(screen(fx)->lockers[0], 1);

	assert_int_equal(door(fx, 1, true), 0);
	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
}

/*
 * Her card again once her door is open and the hold taken: the session of
 * the open door stays, not "unknown card"; the thank-you still comes.
 */
static void keeps_the_doors_session_when_its_card_is_tapped_again(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(door(fx, 1, true), 0);

	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(screen(fx)->lockers[0], 1);

	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
}

static void retries_once_then_faults_a_door_that_never_opens(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;
	const struct kiosk_hold *h;

	add_loaded(fx, "H1", 2);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	assert_int_equal(rec->attempt, 2);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_PICKUP);
	assert_string_equal(rec->hold_id, "H1");
	assert_true(index_of_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED) <
		    index_of_unlock(fx, 2));
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2));

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_FAULT);
	assert_non_null(rec);
	assert_int_equal(rec->locker, 2);
	assert_int_equal(rec->fault, KIOSK_FAULT_NOT_OPENED);
	assert_string_equal(rec->hold_id, "H1");
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 2);

	h = kiosk_get_hold(fx->k, "H1");
	assert_non_null(h);
	assert_int_equal(h->state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(h->locker, 2);
	assert_int_equal(locker(fx, 2).fault, KIOSK_FAULT_NOT_OPENED);
	assert_int_equal(locker(fx, 2).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(locker(fx, 2).purpose, KIOSK_PURPOSE_NONE);

	/* A faulted locker is not pulsed again for the patron. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->lockers[0], 2);
}

static void raises_an_alarm_when_a_door_is_forced_open(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;

	add_loaded(fx, "H1", 4);
	assert_int_equal(start(fx), 0);

	assert_int_equal(door(fx, 4, true), 0);
	rec = find_record(fx, KIOSK_RECORD_DOOR_FORCED_OPEN);
	assert_non_null(rec);
	assert_int_equal(rec->locker, 4);
	assert_string_equal(rec->hold_id, "H1");
	assert_true(locker(fx, 4).alarm_forced_open);
	assert_int_equal(locker(fx, 4).door_state, KIOSK_DOOR_STATE_FORCED);
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 4));

	assert_int_equal(door(fx, 4, true), 0);
	assert_int_equal(fx->out.n, 0);

	assert_int_equal(door(fx, 4, false), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_DOOR_CLOSED));
	assert_false(locker(fx, 4).alarm_forced_open);
	assert_int_equal(locker(fx, 4).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 4));
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->state,
			 KIOSK_HOLD_STATE_LOADED);
}

static void raises_a_left_open_alarm_and_records_the_door_closing(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(door(fx, 1, true), 0);

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 1), 0);
	rec = find_record(fx, KIOSK_RECORD_DOOR_LEFT_OPEN);
	assert_non_null(rec);
	assert_int_equal(rec->locker, 1);
	assert_true(locker(fx, 1).alarm_left_open);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CLOSE_DOOR);
	assert_int_equal(screen(fx)->lockers[0], 1);

	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_DOOR_CLOSED), 1);
	assert_false(locker(fx, 1).alarm_left_open);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
}

static void pulses_and_picks_up_even_when_a_cut_sensor_reads_open(void **state)
{
	struct fx *fx = *state;
	int unlocked, pulsed, picked;

	add_loaded(fx, "H1", 3);
	assert_int_equal(kiosk_set_door(fx->k, 3, true), 0);
	assert_int_equal(start(fx), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_OPEN);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);
	assert_false(locker(fx, 3).alarm_forced_open);
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 3));

	assert_int_equal(tap(fx, CARD), 0);
	unlocked = index_of_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	pulsed = index_of_unlock(fx, 3);
	picked = index_of_record(fx, KIOSK_RECORD_HOLD_PICKED_UP);
	assert_true(unlocked >= 0);
	assert_true(pulsed > unlocked);
	assert_true(picked > pulsed);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3));
	assert_null(kiosk_get_hold(fx->k, "H1"));
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
}

/* The locker the last batch pulsed, by its LOCKER_UNLOCKED record. */
static unsigned unlocked_locker(const struct fx *fx)
{
	const struct kiosk_record *rec =
		find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);

	assert_non_null(rec);
	assert_true(index_of_unlock(fx, rec->locker) >
		    index_of_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED));
	return rec->locker;
}

static void
chooses_the_smallest_fitting_locker_with_the_lowest_number(void **state)
{
	struct fx *fx = *state;

	add_pending(fx, "P-medium", KIOSK_SIZE_MEDIUM);
	add_pending(fx, "P-small-1", KIOSK_SIZE_SMALL);
	add_pending(fx, "P-small-2", KIOSK_SIZE_SMALL);
	add_pending(fx, "P-small-3", KIOSK_SIZE_SMALL);
	add_pending(fx, "P-large-1", KIOSK_SIZE_LARGE);
	add_pending(fx, "P-large-2", KIOSK_SIZE_LARGE);
	assert_int_equal(start(fx), 0);

	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-medium", 0), 0);
	assert_int_equal(unlocked_locker(fx), 3);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-small-1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 1);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-small-2", 0), 0);
	assert_int_equal(unlocked_locker(fx), 2);
	/* Both small ones and locker 3 are busy: the next medium. */
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-small-3", 0), 0);
	assert_int_equal(unlocked_locker(fx), 4);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-large-1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 5);
	/* Return compartments never take holds. */
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-large-2", 0),
			 -ENOSPC);
	assert_int_equal(fx->out.n, 0);
}

/*
 * Lockers 2 and 4 are low: a patron who needs one gets one that fits;
 * the others leave them free while another fits, and take them last.
 */
static void low_lockers_go_to_the_patrons_who_need_them(void **state)
{
	static const struct kiosk_locker_config lockers[] = {
		{ KIOSK_SIZE_SMALL, KIOSK_LOCKER_KIND_HOLD, 500, false },
		{ KIOSK_SIZE_SMALL, KIOSK_LOCKER_KIND_HOLD, 500, true },
		{ KIOSK_SIZE_SMALL, KIOSK_LOCKER_KIND_HOLD, 500, false },
		{ KIOSK_SIZE_MEDIUM, KIOSK_LOCKER_KIND_HOLD, 500, true },
	};
	struct fx *fx = *state;
	struct kiosk_hold h;

	fx->config.lockers = lockers;
	fx->config.n_lockers = 4;
	fx_rebuild(fx);
	add_pending(fx, "P-1", KIOSK_SIZE_SMALL);
	h = hold_make("P-low-1", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	h.needs_low = true;
	hold_add_card(&h, CARD);
	add_hold(fx, &h);
	h = hold_make("P-low-2", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	h.needs_low = true;
	hold_add_card(&h, CARD);
	add_hold(fx, &h);
	add_pending(fx, "P-2", KIOSK_SIZE_SMALL);
	add_pending(fx, "P-3", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);

	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 1);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-low-1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 2);
	/* The small low one is taken: the medium low one, not locker 3. */
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-low-2", 0), 0);
	assert_int_equal(unlocked_locker(fx), 4);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-2", 0), 0);
	assert_int_equal(unlocked_locker(fx), 3);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-3", 0), -ENOSPC);
}

static void
refuses_to_load_into_an_occupied_disabled_or_small_locker(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state disabled = { .disabled = true };
	const struct kiosk_locker_state faulted = {
		.fault = KIOSK_FAULT_NOT_OPENED
	};

	add_loaded(fx, "H1", 1);
	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	add_pending(fx, "P-large", KIOSK_SIZE_LARGE);
	assert_int_equal(kiosk_set_locker_state(fx->k, 2, &disabled), 0);
	assert_int_equal(kiosk_set_locker_state(fx->k, 4, &faulted), 0);
	assert_int_equal(start(fx), 0);

	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 1), -EBUSY);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 2), -EACCES);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 4), -EACCES);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 6), -EINVAL);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 99), -EINVAL);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-large", 3), -ENOSPC);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "nope", 0), -ENOENT);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "H1", 0), -EALREADY);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "", 0), -EINVAL);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, NULL, 0), -EINVAL);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(locker(fx, 1).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_string_equal(locker(fx, 1).hold_id, "H1");

	/* 1 is occupied, 2 disabled: the smallest free fit is 3. */
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 3);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 0), -EALREADY);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P-large", 3), -EBUSY);
}

static void refuses_staff_commands_without_a_staff_session(void **state)
{
	struct fx *fx = *state;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	add_loaded(fx, "H1", 2);
	assert_int_equal(start(fx), 0);

	assert_int_equal(command(fx, KIOSK_INPUT_LOAD, "P1", 0), -EPERM);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(command(fx, KIOSK_INPUT_UNLOAD, "H1", 0), -EPERM);
	assert_int_equal(command(fx, KIOSK_INPUT_OPEN, NULL, 1), -EPERM);
	assert_int_equal(command(fx, KIOSK_INPUT_DISABLE, NULL, 1), -EPERM);
	assert_int_equal(command(fx, KIOSK_INPUT_ENABLE, NULL, 1), -EPERM);

	/* A staff card alone is not a session: the PIN is still owed. */
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(command(fx, KIOSK_INPUT_LOAD, "P1", 0), -EPERM);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(kiosk_get_hold(fx->k, "P1")->state,
			 KIOSK_HOLD_STATE_PENDING);
}

static void gives_a_known_staff_card_its_new_pin(void **state)
{
	struct fx *fx = *state;
	struct kiosk_staff s = { .role = KIOSK_STAFF_ROLE_STAFF };

	assert_int_equal(start(fx), 0);
	hmac_of(STAFF_CARD, s.credential_hmac);
	assert_int_equal(credential_pin_hash("9999", 1000, s.pin_hash), 0);
	assert_int_equal(kiosk_put_staff(fx->k, &s), 0);

	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(type_pin(fx, STAFF_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_WRONG_PIN);
	assert_int_equal(type_pin(fx, "9999"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_MENU);
}

static void logs_staff_in_with_card_and_pin_then_loads_a_hold(void **state)
{
	struct fx *fx = *state;
	char actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_record *rec;
	const struct kiosk_hold *h;
	struct kiosk_hold other;

	actor_of("staff", STAFF_CARD, actor);
	add_pending(fx, "P1", KIOSK_SIZE_MEDIUM);
	assert_int_equal(start(fx), 0);

	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS);
	assert_int_equal(type_pin(fx, STAFF_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_MENU);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_SESSION, 0),
			 fx->now_usec + STAFF_USEC);

	advance(fx, 10 * SEC);
	assert_int_equal(command(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_LOAD);
	assert_string_equal(rec->actor, actor);
	assert_string_equal(rec->hold_id, "P1");
	assert_int_equal(unlocked_locker(fx), 3);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_SESSION, 0),
			 fx->now_usec + STAFF_USEC);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_LOAD);
	other = hold_make("X", KIOSK_HOLD_STATE_LOADED, 3, KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &other), -EINVAL);

	assert_int_equal(door(fx, 3, true), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	advance(fx, 20 * SEC);
	assert_int_equal(door(fx, 3, false), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_LOADED);
	assert_non_null(rec);
	assert_string_equal(rec->hold_id, "P1");
	assert_int_equal(rec->locker, 3);
	assert_string_equal(rec->actor, actor);
	h = kiosk_get_hold(fx->k, "P1");
	assert_int_equal(h->state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(h->locker, 3);
	assert_int_equal(h->loaded_at_usec, fx->wall_usec);
	assert_string_equal(locker(fx, 3).hold_id, "P1");

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	assert_int_equal(command(fx, KIOSK_INPUT_OPEN, NULL, 3), -EPERM);
}

static void hands_a_staff_session_over_only_to_another_staff_card(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	staff_login(fx);

	assert_int_equal(tap(fx, CARD), -EBUSY);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(tap(fx, "garbage"), -EBUSY);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(tap(fx, STAFF_CARD), -EBUSY);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen,
			 KIOSK_SCREEN_STAFF_MENU);

	assert_int_equal(tap(fx, OTHER_STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
}

static void locks_a_staff_card_out_after_wrong_pins(void **state)
{
	struct fx *fx = *state;
	char actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_record *rec;

	actor_of("staff", STAFF_CARD, actor);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_WRONG_PIN);
	assert_int_equal(screen(fx)->attempts_left, 2);
	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(type_pin(fx, "0000"), 0);
	rec = find_record(fx, KIOSK_RECORD_PIN_LOCKOUT);
	assert_non_null(rec);
	assert_string_equal(rec->actor, actor);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);

	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(type_pin(fx, STAFF_PIN), -EINVAL);
}

static void a_load_door_that_never_opens_releases_the_locker(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 1);

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 1), 0);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 1), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_FAULT);
	assert_non_null(rec);
	assert_string_equal(rec->hold_id, "P1");
	assert_int_equal(kiosk_get_hold(fx->k, "P1")->state,
			 KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(locker(fx, 1).purpose, KIOSK_PURPOSE_NONE);

	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 2);
}

static void opens_two_lockers_for_a_patron_with_two_holds(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	add_loaded(fx, "H2", 5);
	assert_int_equal(start(fx), 0);

	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_LOCKER_UNLOCKED), 2);
	assert_true(index_of_unlock(fx, 1) >= 0);
	assert_int_equal(fx->out.a[index_of_unlock(fx, 5)].pulse_ms, 800);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(screen(fx)->n_lockers, 2);
	assert_int_equal(screen(fx)->lockers[0], 1);
	assert_int_equal(screen(fx)->lockers[1], 5);

	assert_int_equal(door(fx, 1, true), 0);
	assert_string_equal(
		find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP)->hold_id, "H1");
	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_SCREEN), 0);

	assert_int_equal(door(fx, 5, true), 0);
	assert_string_equal(
		find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP)->hold_id, "H2");
	assert_int_equal(door(fx, 5, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
	assert_null(kiosk_get_hold_at(fx->k, 0));
}

static void accepts_a_pickup_code_only_once(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h =
		hold_make("H1", KIOSK_HOLD_STATE_LOADED, 2, KIOSK_SIZE_SMALL);

	/* Even where cards need a PIN, a code is its own secret. */
	fx->config.pin_required = true;
	fx_rebuild(fx);
	hold_add_card(&h, CARD);
	hmac_of(CODE, h.code_hmac);
	strcpy(h.pin_hash, patron_pin_hash);
	add_hold(fx, &h);
	assert_int_equal(start(fx), 0);

	assert_int_equal(tap(fx, "code: 1234-5678"), 0);
	assert_true(index_of_unlock(fx, 2) >= 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(door(fx, 2, true), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP));
	assert_int_equal(door(fx, 2, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);

	assert_int_equal(tap(fx, CODE), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_UNKNOWN_CARD);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

static void expires_loaded_holds_on_the_sweep(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h;
	const struct kiosk_record *rec;

	h = hold_make("H-soon", KIOSK_HOLD_STATE_LOADED, 1, KIOSK_SIZE_SMALL);
	h.expires_at_usec = WALL_START_USEC + 30 * (int64_t)SEC;
	add_hold(fx, &h);
	h = hold_make("H-never", KIOSK_HOLD_STATE_LOADED, 2, KIOSK_SIZE_SMALL);
	add_hold(fx, &h);
	h = hold_make("H-past", KIOSK_HOLD_STATE_LOADED, 3, KIOSK_SIZE_SMALL);
	h.expires_at_usec = WALL_START_USEC - 1;
	add_hold(fx, &h);
	h = hold_make("P-past", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	h.expires_at_usec = WALL_START_USEC - 1;
	add_hold(fx, &h);

	assert_int_equal(start(fx), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_HOLD_EXPIRED), 1);
	rec = find_record(fx, KIOSK_RECORD_HOLD_EXPIRED);
	assert_string_equal(rec->hold_id, "H-past");
	assert_int_equal(rec->locker, 3);
	assert_int_equal(kiosk_get_hold(fx->k, "H-past")->state,
			 KIOSK_HOLD_STATE_EXPIRED);
	assert_string_equal(locker(fx, 3).hold_id, "H-past");

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_EXPIRY_SWEEP, 0), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_HOLD_EXPIRED), 1);
	rec = find_record(fx, KIOSK_RECORD_HOLD_EXPIRED);
	assert_string_equal(rec->hold_id, "H-soon");
	assert_int_equal(rec->locker, 1);
	assert_int_equal(armed_at(fx, KIOSK_TIMER_KIND_EXPIRY_SWEEP, 0),
			 fx->now_usec + KIOSK_EXPIRY_SWEEP_USEC);

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_EXPIRY_SWEEP, 0), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_HOLD_EXPIRED), 0);
	assert_int_equal(kiosk_get_hold(fx->k, "H-never")->state,
			 KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(kiosk_get_hold(fx->k, "P-past")->state,
			 KIOSK_HOLD_STATE_PENDING);
}

static void never_hands_out_a_hold_that_expired_before_the_tap(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h =
		hold_make("H1", KIOSK_HOLD_STATE_LOADED, 1, KIOSK_SIZE_SMALL);

	hold_add_card(&h, CARD);
	h.expires_at_usec = WALL_START_USEC + 30 * (int64_t)SEC;
	add_hold(fx, &h);
	assert_int_equal(start(fx), 0);

	advance(fx, 40 * SEC); /* before the first sweep */
	assert_int_equal(tap(fx, CARD), 0);
	assert_string_equal(find_record(fx, KIOSK_RECORD_HOLD_EXPIRED)->hold_id,
			    "H1");
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_NO_HOLDS);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

static void unloads_an_expired_hold_even_from_a_disabled_locker(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state disabled = { .disabled = true };
	struct kiosk_hold h =
		hold_make("H1", KIOSK_HOLD_STATE_EXPIRED, 3, KIOSK_SIZE_MEDIUM);
	char actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_record *rec;

	actor_of("staff", STAFF_CARD, actor);
	hold_add_card(&h, CARD);
	add_hold(fx, &h);
	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_set_locker_state(fx->k, 3, &disabled), 0);
	assert_int_equal(start(fx), 0);
	staff_login(fx);

	assert_int_equal(command(fx, KIOSK_INPUT_UNLOAD, "P1", 0), -EALREADY);
	assert_int_equal(command(fx, KIOSK_INPUT_UNLOAD, "nope", 0), -ENOENT);
	assert_int_equal(command(fx, KIOSK_INPUT_UNLOAD, "H1", 0), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_UNLOAD);
	assert_string_equal(rec->hold_id, "H1");
	assert_string_equal(rec->actor, actor);
	assert_int_equal(unlocked_locker(fx), 3);
	assert_int_equal(command(fx, KIOSK_INPUT_UNLOAD, "H1", 0), -EBUSY);

	assert_int_equal(door(fx, 3, true), 0);
	rec = find_record(fx, KIOSK_RECORD_HOLD_UNLOADED);
	assert_non_null(rec);
	assert_string_equal(rec->hold_id, "H1");
	assert_int_equal(rec->locker, 3);
	assert_string_equal(rec->actor, actor);
	assert_null(kiosk_get_hold(fx->k, "H1"));
	assert_string_equal(locker(fx, 3).hold_id, "");
	assert_int_equal(door(fx, 3, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
}

static int return_start(struct fx *fx)
{
	return feed(fx,
		    (struct kiosk_input){ .type = KIOSK_INPUT_RETURN_START });
}

static int return_item(struct fx *fx, const char *barcode)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_RETURN_ITEM,
					      .credential = barcode });
}

static void records_a_return_deposit_when_the_door_closes(void **state)
{
	struct fx *fx = *state;
	char actor[KIOSK_ACTOR_MAX + 1], barcode[8];
	const struct kiosk_record *rec;

	actor_of("patron", OTHER_CARD, actor);
	assert_int_equal(start(fx), 0);
	/*
	 * No return door open: a scan is no book being returned, whatever
	 * it holds (a card with a blank, or as long as a card id may be).
	 */
	assert_int_equal(return_item(fx, "B1"), -ENOENT);
	assert_int_equal(return_item(fx, "M 0001"), -ENOENT);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_RETURN_IDENTIFY);
	assert_true(armed(fx, KIOSK_TIMER_KIND_SESSION, 0));
	assert_int_equal(return_item(fx, "B1"), -ENOENT);

	/* No holds needed to give books back. */
	assert_int_equal(tap(fx, OTHER_CARD), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_RETURN);
	assert_string_equal(rec->actor, actor);
	assert_int_equal(unlocked_locker(fx), 6);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_RETURN_OPEN);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 6);
	assert_int_equal(return_start(fx), -EBUSY);

	assert_int_equal(door(fx, 6, true), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	/* Books scanned while it is open go with the deposit, once each. */
	assert_int_equal(return_item(fx, "B1"), 0);
	assert_int_equal(return_item(fx, "B 2"), -EINVAL);
	assert_int_equal(return_item(fx, "B1"), 0);
	for (int i = 2; i <= KIOSK_RETURN_ITEMS_MAX; i++) {
		snprintf(barcode, sizeof(barcode), "B%d", i);
		assert_int_equal(return_item(fx, barcode), 0);
	}
	assert_int_equal(return_item(fx, "B99"), -ENOSPC);
	assert_int_equal(door(fx, 6, false), 0);
	rec = find_record(fx, KIOSK_RECORD_RETURN_DEPOSITED);
	assert_non_null(rec);
	assert_int_equal(rec->locker, 6);
	assert_string_equal(rec->actor, actor);
	assert_int_equal(rec->n_items, KIOSK_RETURN_ITEMS_MAX);
	assert_string_equal(rec->items[0], "B1");
	assert_string_equal(rec->items[KIOSK_RETURN_ITEMS_MAX - 1], "B16");
	assert_int_equal(locker(fx, 6).returns, 1);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);

	/* The next patron gets the next empty compartment. */
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(unlocked_locker(fx), 7);
	assert_int_equal(door(fx, 7, true), 0);
	assert_int_equal(door(fx, 7, false), 0);
	rec = find_record(fx, KIOSK_RECORD_RETURN_DEPOSITED);
	assert_int_equal(rec->n_items, 0);
}

/* A return door its patron cancelled before pulling is not faulted. */
static void gives_up_a_return_door_its_patron_cancelled(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(start(fx), 0);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, OTHER_CARD), 0);
	assert_int_equal(unlocked_locker(fx), 6);
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_CANCEL }),
		0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	advance(fx, CONFIRM_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 6), 0);
	/* No second pulse, no fault, no deposit. */
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_OPENING_DROPPED), 1);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 6));
	assert_int_equal(locker(fx, 6).fault, KIOSK_FAULT_NONE);
	assert_int_equal(locker(fx, 6).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(locker(fx, 6).purpose, KIOSK_PURPOSE_NONE);
	assert_int_equal(locker(fx, 6).returns, 0);
	/* The compartment still serves the next return. */
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(unlocked_locker(fx), 6);
}

/* Two return doors open: a book is credited to neither patron. */
static void
lists_a_book_with_no_deposit_while_two_return_doors_are_open(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;

	assert_int_equal(start(fx), 0);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, OTHER_CARD), 0);
	assert_int_equal(door(fx, 6, true), 0);
	/* The first patron walks away, the door left open. */
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(unlocked_locker(fx), 7);
	assert_int_equal(door(fx, 7, true), 0);
	assert_int_equal(return_item(fx, "B7"), -EBUSY);
	assert_int_equal(door(fx, 6, false), 0);
	rec = find_record(fx, KIOSK_RECORD_RETURN_DEPOSITED);
	assert_int_equal(rec->locker, 6);
	assert_int_equal(rec->n_items, 0);
	/* One open again: the book is the second patron's. */
	assert_int_equal(return_item(fx, "B7"), 0);
	assert_int_equal(door(fx, 7, false), 0);
	rec = find_record(fx, KIOSK_RECORD_RETURN_DEPOSITED);
	assert_int_equal(rec->locker, 7);
	assert_int_equal(rec->n_items, 1);
}

static void shows_return_full_when_no_return_locker_is_free(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state used = { .returns = 1 };
	const struct kiosk_locker_state disabled = { .disabled = true };

	assert_int_equal(kiosk_set_locker_state(fx->k, 6, &used), 0);
	assert_int_equal(kiosk_set_locker_state(fx->k, 7, &disabled), 0);
	assert_int_equal(start(fx), 0);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_RETURN_FULL);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
}

static void logs_staff_in_from_the_return_screen(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(start(fx), 0);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

/* lokerctl's opening names who asked; a bad name is refused, not cut. */
static void records_who_asked_for_a_service_opening(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;
	char long_actor[80];

	assert_int_equal(start(fx), 0);
	assert_int_equal(feed(fx,
			      (struct kiosk_input){
				      .type = KIOSK_INPUT_OPEN,
				      .service = true,
				      .actor = "uid=1000,user=alice,pid=4242",
				      .locker = 6 }),
			 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	assert_string_equal(rec->actor, "service:uid=1000,user=alice,pid=4242");
	assert_int_equal(door(fx, 6, true), 0);
	assert_int_equal(door(fx, 6, false), 0);

	memset(long_actor, 'x', sizeof(long_actor) - 1);
	long_actor[sizeof(long_actor) - 1] = '\0';
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_OPEN,
					       .service = true,
					       .actor = long_actor,
					       .locker = 7 }),
		-EINVAL);
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_OPEN,
					       .service = true,
					       .actor = "user=a b",
					       .locker = 7 }),
		-EINVAL);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

static void collects_returns_with_a_maintenance_opening(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state used = { .returns = 2 };
	const struct kiosk_record *rec;

	assert_int_equal(kiosk_set_locker_state(fx->k, 6, &used), 0);
	assert_int_equal(start(fx), 0);

	assert_int_equal(service(fx, KIOSK_INPUT_OPEN, NULL, 6), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_MAINTENANCE);
	assert_string_equal(rec->actor, "service");
	assert_int_equal(unlocked_locker(fx), 6);
	assert_int_equal(service(fx, KIOSK_INPUT_OPEN, NULL, 6), -EBUSY);

	assert_int_equal(door(fx, 6, true), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(door(fx, 6, false), 0);
	rec = find_record(fx, KIOSK_RECORD_RETURNS_COLLECTED);
	assert_non_null(rec);
	assert_int_equal(rec->locker, 6);
	assert_string_equal(rec->actor, "service");
	assert_int_equal(locker(fx, 6).returns, 0);

	/* Nothing to collect the second time. */
	assert_int_equal(service(fx, KIOSK_INPUT_OPEN, NULL, 6), 0);
	assert_int_equal(door(fx, 6, true), 0);
	assert_int_equal(door(fx, 6, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
}

static void ignores_stale_timers(void **state)
{
	struct fx *fx = *state;
	uint64_t confirm_at_usec, old_session_at_usec;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);

	/* Never armed. */
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(fx->out.n, 0);

	/* Disarmed: the door opened before the confirm timer fired. */
	assert_int_equal(tap(fx, CARD), 0);
	confirm_at_usec = armed_at(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 1);
	assert_int_equal(door(fx, 1, true), 0);
	advance(fx, confirm_at_usec - fx->now_usec);
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 1), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(door(fx, 1, false), 0);

	/* Re-armed later: the firing of the earlier arm is stale. */
	staff_login(fx);
	old_session_at_usec = armed_at(fx, KIOSK_TIMER_KIND_SESSION, 0);
	advance(fx, 100 * SEC);
	assert_int_equal(command(fx, KIOSK_INPUT_DISABLE, NULL, 5), 0);
	advance(fx, old_session_at_usec - fx->now_usec);
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen,
			 KIOSK_SCREEN_STAFF_MENU);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);

	/* Timers that cannot exist. */
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 99),
			 -EINVAL);
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_SESSION, 1), -EINVAL);
}

static void disables_and_enables_a_locker(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state faulted = {
		.fault = KIOSK_FAULT_NOT_OPENED
	};
	const struct kiosk_record *rec;

	add_loaded(fx, "H1", 3);
	assert_int_equal(kiosk_set_locker_state(fx->k, 4, &faulted), 0);
	assert_int_equal(start(fx), 0);

	assert_int_equal(service(fx, KIOSK_INPUT_DISABLE, NULL, 3), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_DISABLED);
	assert_non_null(rec);
	assert_int_equal(rec->locker, 3);
	assert_string_equal(rec->actor, "service");
	assert_true(locker(fx, 3).disabled);
	assert_int_equal(service(fx, KIOSK_INPUT_DISABLE, NULL, 3), -EALREADY);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(service(fx, KIOSK_INPUT_DISABLE, NULL, 0), -EINVAL);

	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->lockers[0], 3);

	assert_int_equal(service(fx, KIOSK_INPUT_ENABLE, NULL, 3), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_LOCKER_ENABLED));
	assert_false(locker(fx, 3).disabled);
	assert_int_equal(service(fx, KIOSK_INPUT_ENABLE, NULL, 3), -EALREADY);

	assert_int_equal(service(fx, KIOSK_INPUT_ENABLE, NULL, 4), 0);
	assert_int_equal(locker(fx, 4).fault, KIOSK_FAULT_NONE);

	assert_int_equal(tap(fx, CARD), 0);
	assert_true(index_of_unlock(fx, 3) >= 0);
}

static void cancels_a_session_but_keeps_supervising_its_doors(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(
		feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_CANCEL }),
		0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);
	assert_false(armed(fx, KIOSK_TIMER_KIND_SESSION, 0));

	assert_int_equal(door(fx, 1, true), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP));
	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_SCREEN), 0);
}

static void
shows_close_door_when_the_session_times_out_with_a_door_open(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(door(fx, 1, true), 0);

	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_CLOSE_DOOR);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 1);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_IDLE);

	/* The door is still watched: its alarm fires, without a screen. */
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 1), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_DOOR_LEFT_OPEN));
	assert_int_equal(count_actions(fx, KIOSK_ACTION_SCREEN), 0);
	assert_int_equal(door(fx, 1, false), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_DOOR_CLOSED));
}

static int unlock_failed(struct fx *fx, unsigned locker)
{
	return feed(fx, (struct kiosk_input){ .type = KIOSK_INPUT_UNLOCK_FAILED,
					      .locker = locker });
}

static void
drops_a_pickup_whose_unlock_failed_without_blaming_the_locker(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 3);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3));

	assert_int_equal(unlock_failed(fx, 3), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_TIMER_DISARM), 1);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3));
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 3);
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);
	assert_int_equal(locker(fx, 3).fault, KIOSK_FAULT_NONE);
	assert_string_equal(locker(fx, 3).hold_id, "H1");
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->state,
			 KIOSK_HOLD_STATE_LOADED);

	/* A confirm firing already queued is stale; a second report moot. */
	advance(fx, CONFIRM_USEC);
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 3), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(unlock_failed(fx, 3), 0);
	assert_int_equal(fx->out.n, 0);

	/* The locker is not to blame: the patron may simply try again. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_true(index_of_unlock(fx, 3) >= 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
}

static void stops_retrying_when_the_retry_pulse_failed(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 2);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2), 0);
	assert_int_equal(find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED)->attempt,
			 2);
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2));

	assert_int_equal(unlock_failed(fx, 2), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_false(armed(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2));
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);

	/* No third pulse and no fault when the retry's time is up. */
	advance(fx, CONFIRM_USEC);
	assert_int_equal(timer_input(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(locker(fx, 2).fault, KIOSK_FAULT_NONE);
	assert_int_equal(locker(fx, 2).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(locker(fx, 2).purpose, KIOSK_PURPOSE_NONE);
}

static void releases_a_load_reservation_when_its_unlock_failed(void **state)
{
	struct fx *fx = *state;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);
	staff_login(fx);
	assert_int_equal(command(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 1);

	assert_int_equal(unlock_failed(fx, 1), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_SCREEN), 0);
	assert_int_equal(kiosk_get_screen(fx->k)->screen,
			 KIOSK_SCREEN_STAFF_MENU);
	assert_int_equal(kiosk_get_hold(fx->k, "P1")->state,
			 KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(locker(fx, 1).purpose, KIOSK_PURPOSE_NONE);
	assert_int_equal(locker(fx, 1).fault, KIOSK_FAULT_NONE);

	assert_int_equal(command(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 1);
}

static void reports_the_failed_one_of_two_doors_at_the_end(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	add_loaded(fx, "H2", 5);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);

	assert_int_equal(unlock_failed(fx, 5), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_SCREEN), 0);
	assert_int_equal(door(fx, 1, true), 0);
	assert_string_equal(
		find_record(fx, KIOSK_RECORD_HOLD_PICKED_UP)->hold_id, "H1");
	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 5);
	assert_int_equal(kiosk_get_hold(fx->k, "H2")->state,
			 KIOSK_HOLD_STATE_LOADED);
}

static void ignores_an_unlock_failure_for_a_door_not_awaited(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(unlock_failed(fx, 2), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(unlock_failed(fx, 0), -EINVAL);
	assert_int_equal(unlock_failed(fx, 8), -EINVAL);

	/* Seen open since its pulse: the pulse was given after all. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(door(fx, 1, true), 0);
	assert_int_equal(unlock_failed(fx, 1), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(locker(fx, 1).door_state, KIOSK_DOOR_STATE_OPEN);
	assert_int_equal(locker(fx, 1).purpose, KIOSK_PURPOSE_PICKUP);
	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_THANK_YOU);
}

static void
keeps_watching_a_door_that_read_open_when_its_unlock_failed(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state used = { .returns = 2 };
	const struct kiosk_record *rec;

	add_loaded(fx, "H1", 3);
	assert_int_equal(kiosk_set_door(fx->k, 3, true), 0);
	assert_int_equal(kiosk_set_locker_state(fx->k, 6, &used), 0);
	assert_int_equal(kiosk_set_door(fx->k, 6, true), 0);
	assert_int_equal(start(fx), 0);

	/* A cut sensor: the pickup was taken as seen open at the pulse. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_OPEN);
	assert_int_equal(unlock_failed(fx, 3), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->lockers[0], 3);
	assert_int_equal(locker(fx, 3).door_state, KIOSK_DOOR_STATE_OPEN);
	assert_int_equal(locker(fx, 3).purpose, KIOSK_PURPOSE_NONE);
	assert_int_equal(locker(fx, 3).fault, KIOSK_FAULT_NONE);

	/* Still an open door, watched as one open at boot. */
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 3), 0);
	rec = find_record(fx, KIOSK_RECORD_DOOR_LEFT_OPEN);
	assert_non_null(rec);
	assert_string_equal(rec->actor, "");
	assert_int_equal(door(fx, 3, false), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_DOOR_CLOSED), 1);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 1);

	/* A maintenance opening never pulsed collects no returns. */
	assert_int_equal(service(fx, KIOSK_INPUT_OPEN, NULL, 6), 0);
	assert_int_equal(unlock_failed(fx, 6), 0);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(locker(fx, 6).door_state, KIOSK_DOOR_STATE_OPEN);
	assert_int_equal(locker(fx, 6).purpose, KIOSK_PURPOSE_NONE);
	assert_true(armed(fx, KIOSK_TIMER_KIND_DOOR_LEFT_OPEN, 6));
	assert_int_equal(door(fx, 6, false), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(locker(fx, 6).returns, 2);
}

static void faults_every_locker_whose_opening_was_interrupted(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_locker_state pickup = {
		.opening = KIOSK_PURPOSE_PICKUP
	};
	const struct kiosk_locker_state load = { .opening =
							 KIOSK_PURPOSE_LOAD };
	const struct kiosk_locker_state deposit = {
		.opening = KIOSK_PURPOSE_RETURN
	};
	const struct kiosk_locker_state maintenance = {
		.opening = KIOSK_PURPOSE_MAINTENANCE
	};
	unsigned i, faulted = 0;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	add_loaded(fx, "H1", 2);
	assert_int_equal(kiosk_set_locker_state(fx->k, 1, &load), 0);
	assert_int_equal(kiosk_set_locker_state(fx->k, 2, &pickup), 0);
	assert_int_equal(kiosk_set_locker_state(fx->k, 4, &maintenance), 0);
	assert_int_equal(kiosk_set_locker_state(fx->k, 6, &deposit), 0);
	assert_int_equal(start(fx), 0);

	assert_int_equal(count_records(fx, KIOSK_RECORD_LOCKER_FAULT), 3);
	for (i = 0; i < fx->out.n; i++) {
		const struct kiosk_record *rec = &fx->out.a[i].record;

		if (fx->out.a[i].type != KIOSK_ACTION_RECORD)
			continue;
		assert_int_equal(rec->type, KIOSK_RECORD_LOCKER_FAULT);
		assert_int_equal(rec->fault, KIOSK_FAULT_INTERRUPTED);
		assert_string_equal(rec->hold_id, rec->locker == 2 ? "H1" : "");
		assert_string_equal(rec->actor, "");
		faulted |= 1U << rec->locker;
	}
	assert_int_equal(faulted, 1U << 1 | 1U << 2 | 1U << 6);
	assert_int_equal(locker(fx, 1).fault, KIOSK_FAULT_INTERRUPTED);
	assert_int_equal(locker(fx, 2).fault, KIOSK_FAULT_INTERRUPTED);
	assert_int_equal(locker(fx, 4).fault, KIOSK_FAULT_NONE);
	assert_int_equal(locker(fx, 6).fault, KIOSK_FAULT_INTERRUPTED);

	/* Skipped for pickups, loads and returns until staff enable it. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKER_FAULT);
	assert_int_equal(screen(fx)->lockers[0], 2);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 1), -EACCES);
	assert_int_equal(service(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 3);
	assert_int_equal(return_start(fx), 0);
	assert_int_equal(tap(fx, OTHER_CARD), 0);
	assert_int_equal(unlocked_locker(fx), 7);

	assert_int_equal(service(fx, KIOSK_INPUT_ENABLE, NULL, 2), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_LOCKER_ENABLED));
	assert_int_equal(locker(fx, 2).fault, KIOSK_FAULT_NONE);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(unlocked_locker(fx), 2);
}

static void checks_the_saved_locker_state(void **state)
{
	struct fx *fx = *state;
	struct kiosk_locker_state ls = { .fault = KIOSK_FAULT_INTERRUPTED };

	assert_int_equal(kiosk_set_locker_state(fx->k, 1, &ls), 0);
	ls.fault = KIOSK_FAULT_INTERRUPTED + 1;
	assert_int_equal(kiosk_set_locker_state(fx->k, 1, &ls), -EINVAL);
	ls.fault = KIOSK_FAULT_NONE;
	ls.opening = KIOSK_PURPOSE_MAINTENANCE + 1;
	assert_int_equal(kiosk_set_locker_state(fx->k, 1, &ls), -EINVAL);
	ls.opening = KIOSK_PURPOSE_NONE;
	assert_int_equal(kiosk_set_locker_state(fx->k, 0, &ls), -EINVAL);
	assert_int_equal(kiosk_set_locker_state(fx->k, 8, &ls), -EINVAL);

	/* The refusals changed nothing, and no opening was saved. */
	assert_int_equal(start(fx), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	assert_int_equal(locker(fx, 1).fault, KIOSK_FAULT_INTERRUPTED);
}

/* A code that names no hold; i makes each one different. */
static void unknown_code(unsigned i, char ret[24])
{
	snprintf(ret, 24, "code:9%07u", i);
}

/* Types an unknown code; returns the screen it got. */
static enum kiosk_screen guess_code(struct fx *fx, unsigned i)
{
	char code[24];

	unknown_code(i, code);
	assert_int_equal(tap(fx, code), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_RECORD), 0);
	return screen(fx)->screen;
}

static void add_loaded_with_code(struct fx *fx, const char *id, unsigned n)
{
	struct kiosk_hold h =
		hold_make(id, KIOSK_HOLD_STATE_LOADED, n, KIOSK_SIZE_SMALL);

	hold_add_card(&h, CARD);
	hmac_of(CODE, h.code_hmac);
	add_hold(fx, &h);
}

static void
throttles_unknown_codes_but_never_locks_out_a_known_card(void **state)
{
	struct fx *fx = *state;
	unsigned i;

	add_loaded_with_code(fx, "H1", 1);
	assert_int_equal(start(fx), 0);

	/* The budget: each unknown code spends one, and is saved. */
	for (i = 0; i < KIOSK_CODE_GUESS_BURST; i++) {
		advance(fx, SEC);
		assert_int_equal(guess_code(fx, i), KIOSK_SCREEN_UNKNOWN_CARD);
		assert_int_equal(count_actions(fx, KIOSK_ACTION_GUARD), 1);
	}
	/* Spent: codes are refused without being matched, even a right one. */
	advance(fx, SEC);
	assert_int_equal(guess_code(fx, 100), KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_GUARD), 0);
	assert_int_equal(tap(fx, CODE), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);

	/* Cards are matched all the same: an unknown one costs nothing... */
	assert_int_equal(tap(fx, "uid:11223344"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_UNKNOWN_CARD);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_GUARD), 0);
	/* ...and the patron's own card opens. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_true(index_of_unlock(fx, 1) >= 0);
}

static void gives_back_one_code_guess_per_interval(void **state)
{
	struct fx *fx = *state;
	unsigned i, tried = 0;

	assert_int_equal(start(fx), 0);
	for (i = 0; i < KIOSK_CODE_GUESS_BURST; i++)
		assert_int_equal(guess_code(fx, i), KIOSK_SCREEN_UNKNOWN_CARD);
	assert_int_equal(guess_code(fx, 99), KIOSK_SCREEN_LOCKED_OUT);
	advance(fx, KIOSK_CODE_GUESS_INTERVAL_USEC - SEC);
	assert_int_equal(guess_code(fx, 99), KIOSK_SCREEN_LOCKED_OUT);
	advance(fx, SEC);
	assert_int_equal(guess_code(fx, 5), KIOSK_SCREEN_UNKNOWN_CARD);
	assert_int_equal(guess_code(fx, 6), KIOSK_SCREEN_LOCKED_OUT);

	/* One code every 15 s for a day: about one tried per interval. */
	for (i = 0; i < 24 * 3600 / 15; i++) {
		advance(fx, 15 * SEC);
		if (guess_code(fx, 1000 + i) == KIOSK_SCREEN_UNKNOWN_CARD)
			tried++;
	}
	print_message("unknown codes tried in a day at one every 15 s: %u\n",
		      tried);
	assert_int_equal(tried,
			 24 * 3600 * SEC / KIOSK_CODE_GUESS_INTERVAL_USEC);

	/* A quiet while makes the whole budget whole again, no more. */
	advance(fx, KIOSK_CODE_GUESS_BURST * KIOSK_CODE_GUESS_INTERVAL_USEC);
	for (i = 0; i < KIOSK_CODE_GUESS_BURST; i++)
		assert_int_equal(guess_code(fx, 5000 + i),
				 KIOSK_SCREEN_UNKNOWN_CARD);
	assert_int_equal(guess_code(fx, 6000), KIOSK_SCREEN_LOCKED_OUT);
}

static void
counts_wrong_pins_on_the_hold_whichever_credential_is_shown(void **state)
{
	static const char *const cards[KIOSK_HOLD_CREDENTIALS_MAX] = {
		CARD, OTHER_CARD, "card:M-0043", "uid:0A0B0C0D"
	};
	struct fx *fx = *state;
	struct kiosk_hold h =
		hold_make("H1", KIOSK_HOLD_STATE_LOADED, 1, KIOSK_SIZE_SMALL);
	unsigned i;

	for (i = 0; i < KIOSK_HOLD_CREDENTIALS_MAX; i++)
		hold_add_card(&h, cards[i]);
	strcpy(h.pin_hash, patron_pin_hash);
	add_hold(fx, &h);
	assert_int_equal(start(fx), 0);

	/* One wrong PIN after each card: the hold counts them all. */
	for (i = 0; i < PIN_ATTEMPTS; i++) {
		assert_int_equal(tap(fx, cards[i]), 0);
		assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
		assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS - i);
		assert_int_equal(type_pin(fx, "0000"), 0);
		assert_int_equal(count_actions(fx, KIOSK_ACTION_GUARD), 1);
		assert_int_equal(fx->out.a[0].guard.kind,
				 KIOSK_GUARD_KIND_HOLD);
		assert_string_equal(fx->out.a[0].guard.key, "H1");
	}
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_non_null(find_record(fx, KIOSK_RECORD_PIN_LOCKOUT));
	/* Every card of the hold is locked out, the fourth included. */
	for (i = 0; i < KIOSK_HOLD_CREDENTIALS_MAX; i++) {
		assert_int_equal(tap(fx, cards[i]), 0);
		assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	}
	/* Its pickup code is a secret of its own, and still opens. */
	advance(fx, LOCKOUT_USEC);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS);
}

/* A new core as lokerd builds one at start, from what was saved. */
static void restart_with_saved_guards(struct fx *fx)
{
	unsigned i;

	fx_rebuild(fx);
	add_loaded_with_pin(fx, "H1", 1);
	for (i = 0; i < fx->n_guards; i++) {
		if (!fx->guards[i].failures && !fx->guards[i].until_usec)
			continue; /* forgotten */
		assert_int_equal(kiosk_set_guard(fx->k, &fx->guards[i]), 0);
	}
	assert_int_equal(start(fx), 0);
}

static void
a_restart_resets_neither_pin_counts_nor_the_code_budget(void **state)
{
	struct fx *fx = *state;
	struct kiosk_guard stale = { .kind = KIOSK_GUARD_KIND_HOLD,
				     .key = "H-GONE",
				     .failures = 1 };
	unsigned i;

	fx->config.pin_required = true;
	fx_rebuild(fx);
	add_loaded_with_pin(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(type_pin(fx, "0000"), 0);
	for (i = 0; i < KIOSK_CODE_GUESS_BURST; i++)
		assert_int_equal(guess_code(fx, i), KIOSK_SCREEN_UNKNOWN_CARD);

	restart_with_saved_guards(fx);
	assert_int_equal(guess_code(fx, 99), KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->attempts_left, 1);
	assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);

	restart_with_saved_guards(fx);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(kiosk_set_guard(fx->k, &stale), -ENOENT);

	/* The clock set back a year: the lock-out lasts no longer. */
	fx->wall_usec -= 365LL * 24 * 3600 * (int64_t)SEC;
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_GUARD), 1);
	advance(fx, LOCKOUT_USEC);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);
	/* A right PIN forgets the hold's count: saved as nothing. */
	assert_int_equal(type_pin(fx, PATRON_PIN), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_GUARD), 1);
	assert_int_equal(fx->guards[0].until_usec, 0);
}

static void
a_new_staff_pin_lifts_its_lockout_the_same_one_does_not(void **state)
{
	struct fx *fx = *state;
	struct kiosk_staff s = { .role = KIOSK_STAFF_ROLE_STAFF };
	char other_hash[PIN_HASH_MAX + 1];
	unsigned i;

	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	for (i = 0; i < PIN_ATTEMPTS; i++)
		assert_int_equal(type_pin(fx, "0000"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);

	/* The server sends the same staff again: still locked out. */
	hmac_of(STAFF_CARD, s.credential_hmac);
	strcpy(s.pin_hash, staff_pin_hash);
	assert_int_equal(kiosk_put_staff(fx->k, &s), 0);
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKED_OUT);

	/* A new PIN for the card: the tries were against the old one. */
	assert_int_equal(
		credential_pin_hash("9753", PIN_ITERATIONS, other_hash), 0);
	strcpy(s.pin_hash, other_hash);
	assert_int_equal(kiosk_put_staff(fx->k, &s), 0);
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	assert_int_equal(screen(fx)->attempts_left, PIN_ATTEMPTS);
}

static void tries_at_most_two_distinct_pin_hashes_for_one_pin(void **state)
{
	static const char *const pins[] = { "1111", "1111", "2222", "3333" };
	struct fx *fx = *state;
	char hashes[3][PIN_HASH_MAX + 1];
	unsigned i;

	assert_int_equal(credential_pin_hash("1111", PIN_ITERATIONS, hashes[0]),
			 0);
	assert_int_equal(credential_pin_hash("2222", PIN_ITERATIONS, hashes[1]),
			 0);
	assert_int_equal(credential_pin_hash("3333", PIN_ITERATIONS, hashes[2]),
			 0);
	/* Bad data: four holds of one patron, three PIN hashes. */
	for (i = 0; i < 4; i++) {
		char id[8];
		struct kiosk_hold h;

		snprintf(id, sizeof(id), "H%u", i + 1);
		h = hold_make(id, KIOSK_HOLD_STATE_LOADED, i + 1,
			      KIOSK_SIZE_SMALL);
		hold_add_card(&h, CARD);
		strcpy(h.pin_hash, hashes[pins[i][0] - '1']);
		add_hold(fx, &h);
	}
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN);

	/* The third distinct hash is never tried. */
	assert_int_equal(type_pin(fx, "3333"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_WRONG_PIN);
	/*
	 * A hash shared by two holds is tried once: 2222 is the second. It
	 * opens only the hold it is the PIN of.
	 */
	assert_int_equal(type_pin(fx, "2222"), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(screen(fx)->n_lockers, 1);
	assert_int_equal(screen(fx)->lockers[0], 3);
}

static void keeps_every_batch_within_the_action_bound(void **state)
{
	static struct kiosk_locker_config many[KIOSK_LOCKERS_MAX];
	struct fx *fx = *state;
	unsigned n;

	for (n = 0; n < KIOSK_LOCKERS_MAX; n++)
		many[n] = (struct kiosk_locker_config){ KIOSK_SIZE_SMALL,
							KIOSK_LOCKER_KIND_HOLD,
							500, false };
	fx->config.lockers = many;
	fx->config.n_lockers = KIOSK_LOCKERS_MAX;
	fx->config.max_holds = 2 * KIOSK_LOCKERS_MAX;
	fx_rebuild(fx);

	/*
	 * Worst START: every door open, every opening interrupted, every
	 * hold but a session's worth expiring.
	 */
	for (n = 1; n <= KIOSK_LOCKERS_MAX; n++) {
		const struct kiosk_locker_state interrupted = {
			.opening = KIOSK_PURPOSE_PICKUP
		};
		char id[KIOSK_HOLD_ID_MAX + 1];
		struct kiosk_hold h;

		snprintf(id, sizeof(id), "H%u", n);
		h = hold_make(id, KIOSK_HOLD_STATE_LOADED, n, KIOSK_SIZE_SMALL);
		if (n <= 2 * KIOSK_SESSION_LOCKERS_MAX) {
			hold_add_card(&h, CARD);
		} else {
			hold_add_card(&h, OTHER_CARD);
			h.expires_at_usec = WALL_START_USEC - 1;
		}
		add_hold(fx, &h);
		assert_int_equal(kiosk_set_door(fx->k, n, true), 0);
		assert_int_equal(kiosk_set_locker_state(fx->k, n, &interrupted),
				 0);
	}
	assert_int_equal(start(fx), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_HOLD_EXPIRED),
			 KIOSK_LOCKERS_MAX - 2 * KIOSK_SESSION_LOCKERS_MAX);
	assert_int_equal(count_records(fx, KIOSK_RECORD_LOCKER_FAULT),
			 KIOSK_LOCKERS_MAX);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_TIMER_ARM),
			 KIOSK_LOCKERS_MAX + 1);
	for (n = 1; n <= 2 * KIOSK_SESSION_LOCKERS_MAX; n++)
		assert_int_equal(service(fx, KIOSK_INPUT_ENABLE, NULL, n), 0);

	/* Worst tap: a full session of cut sensors, each picked up at once. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(count_records(fx, KIOSK_RECORD_HOLD_PICKED_UP),
			 KIOSK_SESSION_LOCKERS_MAX);
	assert_int_equal(screen(fx)->n_lockers, KIOSK_SESSION_LOCKERS_MAX);
}

static void refuses_an_action_list_that_is_not_empty(void **state)
{
	struct fx *fx = *state;
	struct kiosk_input in = { .type = KIOSK_INPUT_CREDENTIAL,
				  .credential = CARD };

	add_loaded(fx, "H1", 1);
	assert_int_equal(start(fx), 0);
	fx->out.n = 1;
	assert_int_equal(kiosk_handle(fx->k, &in, &fx->out), -ENOBUFS);
	assert_int_equal(fx->out.n, 1);
	assert_int_equal(locker(fx, 1).door_state, KIOSK_DOOR_STATE_CLOSED);
	assert_int_equal(kiosk_get_hold(fx->k, "H1")->state,
			 KIOSK_HOLD_STATE_LOADED);
}

static void refuses_a_second_start_and_late_door_readings(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(kiosk_set_door(fx->k, 8, true), -EINVAL);
	assert_int_equal(start(fx), 0);
	assert_int_equal(start(fx), -EALREADY);
	assert_int_equal(kiosk_set_door(fx->k, 1, true), -EBUSY);
	assert_int_equal(door(fx, 0, true), -EINVAL);
}

static void rejects_a_bad_config(void **state)
{
	struct kiosk_config c;
	struct kiosk_locker_config bad_pulse = test_lockers[0];
	struct kiosk *k;

	c = test_config();
	k = kiosk_new(&c);
	assert_non_null(k);
	kiosk_free(k);
	kiosk_free(NULL);

	assert_null(kiosk_new(NULL));
	assert_int_equal(errno, EINVAL);
	c = test_config();
	c.n_lockers = 0;
	assert_null(kiosk_new(&c));
	c = test_config();
	c.n_lockers = KIOSK_LOCKERS_MAX + 1;
	assert_null(kiosk_new(&c));
	c = test_config();
	c.site_key_len = 0;
	assert_null(kiosk_new(&c));
	c = test_config();
	c.pin_max_attempts = 0;
	assert_null(kiosk_new(&c));
	c = test_config();
	c.max_holds = 0;
	assert_null(kiosk_new(&c));
	c = test_config();
	c.n_lockers = 1;
	c.lockers = &bad_pulse;
	bad_pulse.pulse_ms = 0;
	assert_null(kiosk_new(&c));
	bad_pulse.pulse_ms = 10001;
	assert_null(kiosk_new(&c));
	assert_int_equal(errno, EINVAL);
}

static void checks_holds_and_staff_as_they_are_added(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h;
	struct kiosk_staff s = { .role = KIOSK_STAFF_ROLE_ADMIN };
	unsigned i;

	add_loaded(fx, "H1", 1);
	h = hold_make("H1", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EEXIST);
	h = hold_make("H2", KIOSK_HOLD_STATE_LOADED, 1, KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h.locker = 6;
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h.locker = 0;
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h.locker = 8;
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h = hold_make("H2", KIOSK_HOLD_STATE_PENDING, 3, KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h = hold_make("H2", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	h.n_credentials = 1;
	strcpy(h.credential_hmacs[0], "not-an-hmac");
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h = hold_make("", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &h), -EINVAL);
	h = hold_make("H-done", KIOSK_HOLD_STATE_PICKED_UP, 0,
		      KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &h), 0);
	assert_null(kiosk_get_hold(fx->k, "H-done"));

	for (i = 1; i < MAX_HOLDS; i++) {
		char id[KIOSK_HOLD_ID_MAX + 1];

		snprintf(id, sizeof(id), "P%u", i);
		h = hold_make(id, KIOSK_HOLD_STATE_PENDING, 0,
			      KIOSK_SIZE_SMALL);
		assert_int_equal(kiosk_add_hold(fx->k, &h), 0);
	}
	h = hold_make("one-too-many", KIOSK_HOLD_STATE_PENDING, 0,
		      KIOSK_SIZE_SMALL);
	assert_int_equal(kiosk_add_hold(fx->k, &h), -ENOSPC);
	assert_string_equal(kiosk_get_hold_at(fx->k, 0)->id, "H1");
	assert_string_equal(kiosk_get_hold_at(fx->k, MAX_HOLDS - 1)->id, "P31");
	assert_null(kiosk_get_hold_at(fx->k, MAX_HOLDS));

	hmac_of(STAFF_CARD, s.credential_hmac);
	strcpy(s.pin_hash, staff_pin_hash);
	strcpy(s.credential_hmac, "nope");
	assert_int_equal(kiosk_put_staff(fx->k, &s), -EINVAL);
	hmac_of("uid:01020304", s.credential_hmac);
	s.pin_hash[0] = '\0';
	assert_int_equal(kiosk_put_staff(fx->k, &s), -EINVAL);
}

static void names_every_value_stably(void **state)
{
	enum kiosk_size size;
	enum kiosk_hold_state hold_state;
	unsigned i, j;

	assert_string_equal(
		kiosk_record_type_to_string(KIOSK_RECORD_LOCKER_UNLOCKED),
		"locker_unlocked");
	assert_string_equal(
		kiosk_record_type_to_string(KIOSK_RECORD_HOLD_PICKED_UP),
		"hold_picked_up");
	assert_string_equal(
		kiosk_record_type_to_string(KIOSK_RECORD_RETURNS_COLLECTED),
		"returns_collected");
	assert_string_equal(
		kiosk_record_type_to_string(KIOSK_RECORD_PIN_LOCKOUT),
		"pin_lockout");
	assert_string_equal(kiosk_purpose_to_string(KIOSK_PURPOSE_MAINTENANCE),
			    "maintenance");
	assert_string_equal(
		kiosk_door_state_to_string(KIOSK_DOOR_STATE_UNLOCKING),
		"unlocking");
	assert_string_equal(kiosk_fault_to_string(KIOSK_FAULT_NOT_OPENED),
			    "not_opened");
	assert_string_equal(kiosk_fault_to_string(KIOSK_FAULT_INTERRUPTED),
			    "interrupted");
	assert_null(kiosk_fault_to_string(KIOSK_FAULT_INTERRUPTED + 1));
	assert_string_equal(kiosk_screen_to_string(KIOSK_SCREEN_LOCKERS_OPEN),
			    "lockers_open");
	assert_string_equal(kiosk_screen_to_string(KIOSK_SCREEN_BAD_CREDENTIAL),
			    "bad_credential");

	for (i = 0; i <= KIOSK_RECORD_PIN_LOCKOUT; i++) {
		assert_non_null(kiosk_record_type_to_string(i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(kiosk_record_type_to_string(i),
						kiosk_record_type_to_string(j));
	}
	for (i = 0; i <= KIOSK_SCREEN_BAD_CREDENTIAL; i++) {
		assert_non_null(kiosk_screen_to_string(i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(kiosk_screen_to_string(i),
						kiosk_screen_to_string(j));
	}
	for (i = 0; i <= KIOSK_SIZE_LARGE; i++) {
		assert_int_equal(
			kiosk_size_from_string(kiosk_size_to_string(i), &size),
			0);
		assert_int_equal(size, i);
	}
	for (i = 0; i <= KIOSK_HOLD_STATE_UNLOADED; i++) {
		assert_int_equal(
			kiosk_hold_state_from_string(
				kiosk_hold_state_to_string(i), &hold_state),
			0);
		assert_int_equal(hold_state, i);
	}
	assert_null(kiosk_purpose_to_string(KIOSK_PURPOSE_MAINTENANCE + 1));
	assert_null(kiosk_screen_to_string(KIOSK_SCREEN_CHOOSE_BOOKS + 1));
	assert_int_equal(kiosk_size_from_string("huge", &size), -EINVAL);
	assert_int_equal(kiosk_size_from_string("Small", &size), -EINVAL);
	assert_int_equal(kiosk_size_from_string(NULL, &size), -EINVAL);
	assert_int_equal(kiosk_hold_state_from_string("gone", &hold_state),
			 -EINVAL);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- what the server sends ---- */

static void
takes_the_servers_copy_of_a_pending_hold_even_while_it_is_loaded(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h;
	const struct kiosk_hold *got;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);
	staff_login(fx);
	assert_int_equal(command(fx, KIOSK_INPUT_LOAD, "P1", 0), 0);
	assert_int_equal(unlocked_locker(fx), 1);

	/* The server now says: another card, a name, an expiry. */
	h = hold_make("P1", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	hold_add_card(&h, OTHER_CARD);
	strcpy(h.patron_name, "Budi");
	h.expires_at_usec = WALL_START_USEC + 7 * 86400 * (int64_t)SEC;
	assert_int_equal(kiosk_put_hold(fx->k, &h), 0);
	/* Being loaded: it cannot be taken away. */
	assert_int_equal(kiosk_can_remove_hold(fx->k, "P1"), -EBUSY);
	assert_int_equal(kiosk_remove_hold(fx->k, "P1"), -EBUSY);

	assert_int_equal(door(fx, 1, true), 0);
	assert_int_equal(door(fx, 1, false), 0);
	assert_non_null(find_record(fx, KIOSK_RECORD_HOLD_LOADED));
	got = kiosk_get_hold(fx->k, "P1");
	assert_int_equal(got->state, KIOSK_HOLD_STATE_LOADED);
	assert_string_equal(got->patron_name, "Budi");

	/* In its locker, only the expiry is taken from the server. */
	h.expires_at_usec += 86400 * (int64_t)SEC;
	strcpy(h.patron_name, "Ani");
	assert_int_equal(kiosk_put_hold(fx->k, &h), 0);
	got = kiosk_get_hold(fx->k, "P1");
	assert_int_equal(got->state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(got->locker, 1);
	assert_string_equal(got->patron_name, "Budi");
	assert_int_equal(got->expires_at_usec, h.expires_at_usec);
	assert_int_equal(kiosk_remove_hold(fx->k, "P1"), -EBUSY);

	/* The patron of the server's card picks it up. */
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(tap(fx, OTHER_CARD), 0);
	assert_int_equal(unlocked_locker(fx), 1);

	/* A loaded or pending hold is refused as the server's copy. */
	h.state = KIOSK_HOLD_STATE_LOADED;
	h.locker = 2;
	assert_int_equal(kiosk_put_hold(fx->k, &h), -EINVAL);
}

/* A step of a full set's drops: one pass, the rest in their order. */
static void removes_many_pending_holds_at_once(void **state)
{
	struct fx *fx = *state;
	const char *ids[] = { "P1", "L1", "P3", "P9", NULL, "", "P1" };

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	add_pending(fx, "P2", KIOSK_SIZE_SMALL);
	add_loaded(fx, "L1", 1);
	add_pending(fx, "P3", KIOSK_SIZE_SMALL);
	add_pending(fx, "P4", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);

	/* The loaded one stays, the unknown is nothing, P1 goes once. */
	assert_int_equal(kiosk_remove_holds(fx->k, ids, 7), 2);
	assert_string_equal(kiosk_get_hold_at(fx->k, 0)->id, "P2");
	assert_string_equal(kiosk_get_hold_at(fx->k, 1)->id, "L1");
	assert_string_equal(kiosk_get_hold_at(fx->k, 2)->id, "P4");
	assert_null(kiosk_get_hold_at(fx->k, 3));
	assert_int_equal(kiosk_get_hold(fx->k, "L1")->locker, 1);
	assert_int_equal(kiosk_remove_holds(fx->k, ids, 0), 0);
	assert_int_equal(kiosk_remove_holds(NULL, ids, 1), 0);
}

static void
forgets_a_pending_hold_and_a_staff_card_the_server_took_away(void **state)
{
	struct fx *fx = *state;
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	struct kiosk_hold h;

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	h = hold_make("P2", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	hold_add_card(&h, CARD);
	assert_int_equal(kiosk_put_hold(fx->k, &h), 0);
	assert_non_null(kiosk_get_hold(fx->k, "P2"));
	assert_int_equal(start(fx), 0);

	assert_int_equal(kiosk_can_remove_hold(fx->k, "P1"), 0);
	assert_non_null(kiosk_get_hold(fx->k, "P1"));
	assert_int_equal(kiosk_remove_hold(fx->k, "P1"), 0);
	assert_null(kiosk_get_hold(fx->k, "P1"));
	assert_non_null(kiosk_get_hold(fx->k, "P2"));
	assert_int_equal(kiosk_remove_hold(fx->k, "P1"), -ENOENT);

	hmac_of(STAFF_CARD, hmac);
	assert_int_equal(kiosk_remove_staff(fx->k, hmac), 0);
	assert_int_equal(kiosk_remove_staff(fx->k, hmac), -ENOENT);
	/* The card no longer logs in; the other one still does. */
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_not_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_int_equal(tap(fx, OTHER_STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
}

static void asks_for_a_pin_once_the_server_requires_one(void **state)
{
	struct fx *fx = *state;

	add_loaded(fx, "L1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(door(fx, 1, true), 0);
	assert_int_equal(door(fx, 1, false), 0);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);

	/* A card alone no longer opens a door: this hold has no PIN. */
	add_loaded(fx, "L2", 2);
	kiosk_set_pin_required(fx->k, true);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN_NOT_SET);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

static void puts_a_server_command_on_the_first_pulse_only(void **state)
{
	struct fx *fx = *state;
	const struct kiosk_record *rec;
	struct kiosk_input in = { .type = KIOSK_INPUT_OPEN,
				  .service = true,
				  .locker = 2,
				  .command = "c-7" };

	assert_int_equal(start(fx), 0);
	assert_int_equal(feed(fx, in), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	assert_int_equal(rec->purpose, KIOSK_PURPOSE_MAINTENANCE);
	assert_string_equal(rec->command, "c-7");
	/* Nobody opens the door: the retry pulse is not the command again. */
	advance(fx, CONFIRM_USEC);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_DOOR_CONFIRM, 2), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	assert_int_equal(rec->attempt, 2);
	assert_string_equal(rec->command, "");

	in = (struct kiosk_input){ .type = KIOSK_INPUT_DISABLE,
				   .service = true,
				   .locker = 3,
				   .command = "c-8" };
	assert_int_equal(feed(fx, in), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_DISABLED);
	assert_non_null(rec);
	assert_string_equal(rec->command, "c-8");

	/* Only the kiosk's service carries commands, and only sane ids. */
	in = (struct kiosk_input){ .type = KIOSK_INPUT_ENABLE,
				   .locker = 3,
				   .command = "c-9" };
	assert_int_equal(feed(fx, in), -EINVAL);
	in.service = true;
	in.command = "c 9";
	assert_int_equal(feed(fx, in), -EINVAL);
	assert_int_equal(fx->out.n, 0);
	/* Records of other inputs carry none. */
	in.command = NULL;
	assert_int_equal(feed(fx, in), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_ENABLED);
	assert_non_null(rec);
	assert_string_equal(rec->command, "");
}

static void
keeps_an_expired_hold_expired_when_the_server_moves_its_expiry(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h =
		hold_make("E1", KIOSK_HOLD_STATE_EXPIRED, 3, KIOSK_SIZE_MEDIUM);
	const struct kiosk_hold *got;

	hold_add_card(&h, CARD);
	add_hold(fx, &h);
	assert_int_equal(start(fx), 0);

	/* The server, not yet told, sends its pending copy with a new date. */
	h = hold_make("E1", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_MEDIUM);
	hold_add_card(&h, CARD);
	h.expires_at_usec = WALL_START_USEC + 86400 * (int64_t)SEC;
	assert_int_equal(kiosk_put_hold(fx->k, &h), 0);
	got = kiosk_get_hold(fx->k, "E1");
	assert_int_equal(got->state, KIOSK_HOLD_STATE_EXPIRED);
	assert_int_equal(got->locker, 3);
	assert_int_equal(got->expires_at_usec, h.expires_at_usec);
	assert_int_equal(kiosk_can_remove_hold(fx->k, "E1"), -EBUSY);
	assert_int_equal(kiosk_remove_hold(fx->k, "E1"), -EBUSY);
	assert_non_null(kiosk_get_hold(fx->k, "E1"));

	/* Its hold_expired is recorded: the patron gets nothing back. */
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_NO_HOLDS);
	assert_int_equal(count_actions(fx, KIOSK_ACTION_UNLOCK), 0);
}

static void refuses_a_new_hold_from_the_server_past_max_holds(void **state)
{
	struct fx *fx = *state;
	struct kiosk_hold h;

	fx->config.max_holds = 2;
	fx_rebuild(fx);
	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	h = hold_make("P2", KIOSK_HOLD_STATE_PENDING, 0, KIOSK_SIZE_SMALL);
	hold_add_card(&h, CARD);
	assert_int_equal(kiosk_put_hold(fx->k, &h), 0);
	strcpy(h.id, "P3");
	assert_int_equal(kiosk_put_hold(fx->k, &h), -ENOSPC);
	assert_null(kiosk_get_hold(fx->k, "P3"));
	/* A newer copy of a known hold needs no room. */
	strcpy(h.id, "P1");
	strcpy(h.patron_name, "Budi");
	assert_int_equal(kiosk_put_hold(fx->k, &h), 0);
	assert_string_equal(kiosk_get_hold(fx->k, "P1")->patron_name, "Budi");
	/* A copy that is not pending, or not valid, is no server's copy. */
	h.locker = 1;
	assert_int_equal(kiosk_put_hold(fx->k, &h), -EINVAL);
	h.locker = 0;
	h.id[0] = '\0';
	assert_int_equal(kiosk_put_hold(fx->k, &h), -EINVAL);
	assert_int_equal(kiosk_remove_hold(fx->k, "P9"), -ENOENT);
	assert_int_equal(kiosk_can_remove_hold(fx->k, "P9"), -ENOENT);
}

static void a_removed_staff_card_keeps_its_session_until_it_ends(void **state)
{
	struct fx *fx = *state;
	char hmac[CREDENTIAL_HMAC_HEX_LEN + 1], actor[KIOSK_ACTOR_MAX + 1];
	const struct kiosk_record *rec;

	assert_int_equal(start(fx), 0);
	staff_login(fx);
	hmac_of(STAFF_CARD, hmac);
	assert_int_equal(kiosk_remove_staff(fx->k, hmac), 0);
	assert_false(kiosk_is_staff(fx->k, hmac));

	/* Logged in already: the session goes on, in that person's name. */
	assert_true(kiosk_in_staff_session(fx->k));
	assert_int_equal(command(fx, KIOSK_INPUT_OPEN, NULL, 1), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	actor_of("staff", STAFF_CARD, actor);
	assert_string_equal(rec->actor, actor);
	assert_int_equal(door(fx, 1, true), 0);
	assert_int_equal(door(fx, 1, false), 0);

	/* Until it times out; then the card no longer logs in. */
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);
	assert_false(kiosk_in_staff_session(fx->k));
	assert_int_equal(tap(fx, STAFF_CARD), 0);
	assert_int_not_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);

	/* Removed while its PIN is asked for: the right PIN opens nothing. */
	assert_int_equal(tap(fx, OTHER_STAFF_CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_PIN);
	hmac_of(OTHER_STAFF_CARD, hmac);
	assert_int_equal(kiosk_remove_staff(fx->k, hmac), 0);
	assert_int_equal(type_pin(fx, STAFF_PIN), 0);
	assert_int_not_equal(screen(fx)->screen, KIOSK_SCREEN_STAFF_MENU);
	assert_false(kiosk_in_staff_session(fx->k));
	assert_int_equal(command(fx, KIOSK_INPUT_OPEN, NULL, 1), -EPERM);
}

static void
takes_command_ids_up_to_63_characters_on_service_openings_only(void **state)
{
	struct fx *fx = *state;
	char id[KIOSK_COMMAND_ID_MAX + 2];
	const struct kiosk_record *rec;
	struct kiosk_input in = { .type = KIOSK_INPUT_OPEN,
				  .service = true,
				  .locker = 2,
				  .command = id };

	add_pending(fx, "P1", KIOSK_SIZE_SMALL);
	assert_int_equal(start(fx), 0);
	memset(id, '~', KIOSK_COMMAND_ID_MAX + 1);
	id[KIOSK_COMMAND_ID_MAX + 1] = '\0';
	assert_int_equal(feed(fx, in), -EINVAL);
	assert_int_equal(fx->out.n, 0);
	id[KIOSK_COMMAND_ID_MAX] = '\0';
	assert_int_equal(feed(fx, in), 0);
	rec = find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED);
	assert_non_null(rec);
	assert_string_equal(rec->command, id);
	/* A control character is no id either. */
	strcpy(id, "c-\x7f");
	in.locker = 3;
	assert_int_equal(feed(fx, in), -EINVAL);
	/* "" means none. */
	id[0] = '\0';
	assert_int_equal(feed(fx, in), 0);
	assert_string_equal(
		find_record(fx, KIOSK_RECORD_LOCKER_UNLOCKED)->command, "");

	/* Loading is no server command: its records would carry a stranger. */
	in = (struct kiosk_input){ .type = KIOSK_INPUT_LOAD,
				   .service = true,
				   .hold_id = "P1",
				   .command = "c-1" };
	assert_int_equal(feed(fx, in), -EINVAL);
	assert_int_equal(fx->out.n, 0);
	assert_int_equal(kiosk_get_hold(fx->k, "P1")->state,
			 KIOSK_HOLD_STATE_PENDING);
	in.command = NULL;
	assert_int_equal(feed(fx, in), 0);
}

static void
opens_with_a_card_alone_once_the_server_drops_the_pin_rule(void **state)
{
	struct fx *fx = *state;

	fx->config.pin_required = true;
	fx_rebuild(fx);
	add_loaded(fx, "L1", 1);
	assert_int_equal(start(fx), 0);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_PIN_NOT_SET);
	assert_int_equal(fire(fx, KIOSK_TIMER_KIND_SESSION, 0), 0);

	kiosk_set_pin_required(fx->k, false);
	assert_int_equal(tap(fx, CARD), 0);
	assert_int_equal(screen(fx)->screen, KIOSK_SCREEN_LOCKERS_OPEN);
	assert_int_equal(unlocked_locker(fx), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(picks_up_a_loaded_hold_when_its_card_is_tapped),
		TEST(asks_which_books_before_opening_a_hold_of_several),
		TEST(opens_every_book_when_the_patron_keeps_the_choice),
		TEST(keeps_a_hold_whose_books_are_all_left_shut),
		TEST(takes_the_new_pick_when_tapped_again_while_unlocking),
		TEST(takes_more_books_when_tapped_again_with_the_door_open),
		TEST(opens_at_once_without_partial_pickup_or_for_one_book),
		TEST(goes_idle_when_nobody_chooses),
		TEST(gives_up_a_pickup_door_its_patron_cancelled),
		TEST(takes_a_door_pulled_after_the_cancel_as_a_pickup),
		TEST(shows_unknown_card_for_a_card_no_hold_knows),
		TEST(shows_bad_credential_for_an_unreadable_tap),
		TEST(shows_no_holds_for_a_known_card_with_nothing_loaded),
		TEST(asks_for_a_pin_when_policy_requires_it_and_opens_after_the_right_one),
		TEST(asks_for_a_pin_when_the_hold_has_one_even_without_the_policy),
		TEST(shows_pin_not_set_when_a_pin_is_required_but_none_is_on_file),
		TEST(counts_wrong_pins_and_locks_the_card_out_until_the_lockout_ends),
		TEST(forgets_earlier_wrong_pins_after_a_right_one),
		TEST(goes_idle_when_nobody_types_the_pin),
		TEST(checks_a_pin_off_the_loop_one_at_a_time),
		TEST(ignores_the_answer_of_a_session_that_moved_on),
		TEST(opens_nothing_with_a_pin_that_changed_during_its_check),
		TEST(ends_the_pin_check_of_a_staff_card_that_went_meanwhile),
		TEST(replaces_a_waiting_session_with_a_new_tap),
		TEST(does_not_pulse_twice_when_a_patron_taps_again),
		TEST(keeps_the_doors_session_when_its_card_is_tapped_again),
		TEST(retries_once_then_faults_a_door_that_never_opens),
		TEST(raises_an_alarm_when_a_door_is_forced_open),
		TEST(raises_a_left_open_alarm_and_records_the_door_closing),
		TEST(pulses_and_picks_up_even_when_a_cut_sensor_reads_open),
		TEST(chooses_the_smallest_fitting_locker_with_the_lowest_number),
		TEST(low_lockers_go_to_the_patrons_who_need_them),
		TEST(refuses_to_load_into_an_occupied_disabled_or_small_locker),
		TEST(refuses_staff_commands_without_a_staff_session),
		TEST(logs_staff_in_with_card_and_pin_then_loads_a_hold),
		TEST(gives_a_known_staff_card_its_new_pin),
		TEST(hands_a_staff_session_over_only_to_another_staff_card),
		TEST(locks_a_staff_card_out_after_wrong_pins),
		TEST(a_load_door_that_never_opens_releases_the_locker),
		TEST(opens_two_lockers_for_a_patron_with_two_holds),
		TEST(accepts_a_pickup_code_only_once),
		TEST(expires_loaded_holds_on_the_sweep),
		TEST(never_hands_out_a_hold_that_expired_before_the_tap),
		TEST(unloads_an_expired_hold_even_from_a_disabled_locker),
		TEST(records_a_return_deposit_when_the_door_closes),
		TEST(gives_up_a_return_door_its_patron_cancelled),
		TEST(lists_a_book_with_no_deposit_while_two_return_doors_are_open),
		TEST(shows_return_full_when_no_return_locker_is_free),
		TEST(logs_staff_in_from_the_return_screen),
		TEST(collects_returns_with_a_maintenance_opening),
		TEST(records_who_asked_for_a_service_opening),
		TEST(ignores_stale_timers),
		TEST(disables_and_enables_a_locker),
		TEST(cancels_a_session_but_keeps_supervising_its_doors),
		TEST(shows_close_door_when_the_session_times_out_with_a_door_open),
		TEST(drops_a_pickup_whose_unlock_failed_without_blaming_the_locker),
		TEST(stops_retrying_when_the_retry_pulse_failed),
		TEST(releases_a_load_reservation_when_its_unlock_failed),
		TEST(reports_the_failed_one_of_two_doors_at_the_end),
		TEST(ignores_an_unlock_failure_for_a_door_not_awaited),
		TEST(keeps_watching_a_door_that_read_open_when_its_unlock_failed),
		TEST(faults_every_locker_whose_opening_was_interrupted),
		TEST(checks_the_saved_locker_state),
		TEST(throttles_unknown_codes_but_never_locks_out_a_known_card),
		TEST(gives_back_one_code_guess_per_interval),
		TEST(counts_wrong_pins_on_the_hold_whichever_credential_is_shown),
		TEST(a_restart_resets_neither_pin_counts_nor_the_code_budget),
		TEST(a_new_staff_pin_lifts_its_lockout_the_same_one_does_not),
		TEST(tries_at_most_two_distinct_pin_hashes_for_one_pin),
		TEST(keeps_every_batch_within_the_action_bound),
		TEST(refuses_an_action_list_that_is_not_empty),
		TEST(refuses_a_second_start_and_late_door_readings),
		TEST(rejects_a_bad_config),
		TEST(checks_holds_and_staff_as_they_are_added),
		TEST(names_every_value_stably),
		TEST(takes_the_servers_copy_of_a_pending_hold_even_while_it_is_loaded),
		TEST(removes_many_pending_holds_at_once),
		TEST(forgets_a_pending_hold_and_a_staff_card_the_server_took_away),
		TEST(asks_for_a_pin_once_the_server_requires_one),
		TEST(puts_a_server_command_on_the_first_pulse_only),
		TEST(keeps_an_expired_hold_expired_when_the_server_moves_its_expiry),
		TEST(refuses_a_new_hold_from_the_server_past_max_holds),
		TEST(a_removed_staff_card_keeps_its_session_until_it_ends),
		TEST(takes_command_ids_up_to_63_characters_on_service_openings_only),
		TEST(opens_with_a_card_alone_once_the_server_drops_the_pin_rule),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
