// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerd's wiring: inputs from devices, timers and the control socket to the
 * core; the core's actions to the store, the locks and the log. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "kiosk.h"
#include "lockbank.h"
#include "log.h"
#include "metrics.h"
#include "pincheck.h"
#include "reader.h"
#include "store.h"
#include "sync.h"
#include "webui.h"

#define TIMER_ACCURACY_USEC    1000 /* 1 ms: door and lock timing */
#define PULSE_RELEASE_RETRY_MS 100
#define HOLD_EXPIRES_IN_MAX_S  (366 * 24 * 3600)
#define LIST_LIMIT_MAX	       1000
/* Holds listed to a staff member on the screen. */
#define SCREEN_HOLDS_MAX 100
/*
 * Rows one pruning step deletes: a few milliseconds, fsync included, so
 * a tap or a pulse's end that comes meanwhile waits that long at most.
 */
#define PRUNE_STEP_ROWS 200
/* Expiry sweeps (one a minute) between two prunings for age. */
#define SWEEPS_PER_PRUNE 60
/* [sync] open_commands_max at most. */
#define OPEN_COMMANDS_MAX 100

static void load_open_commands(struct daemon *d);

struct timer_slot {
	struct daemon *daemon;
	struct kiosk_timer timer;
	sd_event_source *source;
};

struct pulse_slot {
	struct daemon *daemon;
	unsigned locker;
	sd_event_source *source;
	bool release_failing;
	uint64_t energised_usec; /* CLOCK_MONOTONIC; 0: released */
	uint32_t pulse_ms;
};

/*
 * How long the loop's callbacks take and how true the pulses are, from
 * the start or the last reset: blocking work on the loop shows here.
 */
struct loop_stats {
	uint64_t callbacks;
	uint64_t longest_usec; /* of one callback */
	/*
	 * The longest in the loop thread's CPU time: the work alone, without
	 * the waits for the disk or for a core other programs hold.
	 */
	uint64_t longest_cpu_usec;
	/*
	 * The longest less the time it waited for a core (the kernel's
	 * schedstat): its work and what it waited for itself, the disk
	 * included, as on a machine with nothing else to run.
	 */
	uint64_t longest_own_usec;
	uint64_t pulses;
	int64_t worst_pulse_error_usec; /* the pulse minus pulse_ms */
};

struct daemon {
	struct config config;
	sd_event *event;
	struct store *store;
	struct kiosk *kiosk;
	struct reader *reader;
	struct reader *scanner; /* a barcode scanner, or NULL */
	struct lockbank *lockbank;
	struct control *control;
	struct sync *sync;	 /* NULL without [sync] url */
	struct webui *webui;	 /* NULL without [webui] listen */
	struct metrics *metrics; /* NULL without [metrics] listen */
	struct metrics_counters counters;
	struct metrics_locker *metrics_lockers; /* a scrape's, [0] is 1 */
	sd_event_source *reader_source, *scanner_source, *lockbank_source;
	/* session, expiry sweep, then door confirm and left-open per locker */
	struct timer_slot *timers;
	unsigned n_timers;
	struct pulse_slot *pulses; /* [0] is locker 1 */
	struct kiosk_actions *actions;
	/* Lockers the last input unlocked, for the control socket's reply. */
	unsigned unlocked[KIOSK_LOCKERS_MAX];
	unsigned n_unlocked;
	bool out_of_service;
	bool lockbank_faulted; /* its hardware's silence said in the log */
	bool webui_sim; /* a simulated reader or lock bank: the sim panel */
	/* {title, due} of the books a patron's session opened, or NULL. */
	json_t *session_titles;
	uint64_t started_usec;
	int64_t started_wall_usec;
	/* Pruning, a bounded step whenever the loop has nothing else. */
	sd_event_source *prune_source;
	bool prune_failing;
	unsigned sweeps; /* expiry sweeps so far */
	/*
	 * When the remote openings of the last period were carried out
	 * (CLOCK_REALTIME), kept in the store across restarts.
	 */
	uint64_t open_command_usec[OPEN_COMMANDS_MAX];
	unsigned n_open_commands;
	/* A backup or integrity check on its own thread, and who asked. */
	struct store_job *job;
	sd_event_source *job_source;
	struct control_reply *job_reply;
	char job_path[PATH_MAX];
	/* A WAL checkpoint on its own thread, when one is due. */
	struct store_job *checkpoint;
	sd_event_source *checkpoint_source;
	bool checkpoint_failing;
	struct loop_stats loop;
	/*
	 * PIN checks on their own thread (PBKDF2 is slow on purpose), and the
	 * control client whose PIN is being checked, answered with the
	 * check's outcome.
	 */
	struct pincheck *pincheck;
	sd_event_source *pincheck_source;
	struct control_reply *pin_reply;
	uint64_t pin_reply_check;
	/*
	 * Bumped by every input to the core and every change the screen
	 * shows that the store does not see; with the store's own, the
	 * screen's state is built again only when this moves.
	 */
	uint64_t screen_generation;
	bool screen_online;
};

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static struct timer_slot *timer_slot(struct daemon *d,
				     const struct kiosk_timer *t)
{
	unsigned n = d->config.kiosk.n_lockers;

	switch (t->kind) {
	case KIOSK_TIMER_KIND_SESSION:
		return &d->timers[0];
	case KIOSK_TIMER_KIND_EXPIRY_SWEEP:
		return &d->timers[1];
	case KIOSK_TIMER_KIND_DOOR_CONFIRM:
		if (t->locker >= 1 && t->locker <= n)
			return &d->timers[2 + t->locker - 1];
		return NULL;
	case KIOSK_TIMER_KIND_DOOR_LEFT_OPEN:
		if (t->locker >= 1 && t->locker <= n)
			return &d->timers[2 + n + t->locker - 1];
		return NULL;
	}
	return NULL;
}

static int arm(sd_event *event, sd_event_source **source, uint64_t at_usec,
	       sd_event_time_handler_t cb, void *userdata)
{
	int err;

	if (!*source)
		return sd_event_add_time(event, source, CLOCK_MONOTONIC,
					 at_usec, TIMER_ACCURACY_USEC, cb,
					 userdata);
	err = sd_event_source_set_time(*source, at_usec);
	if (err < 0)
		return err;
	return sd_event_source_set_enabled(*source, SD_EVENT_ONESHOT);
}

static int feed(struct daemon *d, struct kiosk_input *in, int *ret_record_err);

static void prune_soon(struct daemon *d);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct timer_slot *slot = userdata;
	struct kiosk_input in = {
		.type = KIOSK_INPUT_TIMER,
		.timer = slot->timer,
	};

	feed(slot->daemon, &in, NULL);
	/*
	 * Finished holds age past their retention without any event to make
	 * pruning due: once an hour of sweeps, it is.
	 */
	if (slot->timer.kind == KIOSK_TIMER_KIND_EXPIRY_SWEEP &&
	    ++slot->daemon->sweeps % SWEEPS_PER_PRUNE == 0) {
		store_prune_request(slot->daemon->store);
		prune_soon(slot->daemon);
	}
	return 0;
}

/*
 * Says once when the lock bank's hardware stops answering, and once when
 * it answers again: the bank keeps asking by itself, and every exchange
 * (a pulse, a poll of the doors) tells whether it does.
 */
static void lockbank_watch(struct daemon *d)
{
	const char *fault = lockbank_get_fault(d->lockbank);

	if (!fault == !d->lockbank_faulted)
		return;
	d->lockbank_faulted = fault != NULL;
	d->screen_generation++;
	if (fault)
		log_err("lock bank: %s; unlocks fail until it answers", fault);
	else if (d->config.lockbank_backend == CONFIG_BACKEND_MODBUS)
		log_notice("lock bank: modbus slave %u on %s: answering again",
			   d->config.modbus.slave, d->config.modbus.device);
	else
		log_notice("lock bank: answering again");
}

static int on_pulse_end(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pulse_slot *slot = userdata;
	struct daemon *d = slot->daemon;
	int err = lockbank_set_lock(d->lockbank, slot->locker, false);

	lockbank_watch(d);
	if (err == 0 && slot->energised_usec) {
		int64_t error = (int64_t)(now_usec(CLOCK_MONOTONIC) -
					  slot->energised_usec) -
				(int64_t)slot->pulse_ms * 1000;

		d->loop.pulses++;
		if (llabs(error) > llabs(d->loop.worst_pulse_error_usec))
			d->loop.worst_pulse_error_usec = error;
		slot->energised_usec = 0;
	}

	/*
	 * A coil left energised overheats: try again soon, for as long as it
	 * takes, and say so once.
	 */
	if (err < 0) {
		if (!slot->release_failing)
			log_locker(
				LOG_ERR, slot->locker,
				"locker %u: lock release failed, retrying every %d ms: %s",
				slot->locker, PULSE_RELEASE_RETRY_MS,
				strerror(-err));
		slot->release_failing = true;
		arm(slot->daemon->event, &slot->source,
		    usec + PULSE_RELEASE_RETRY_MS * 1000ULL, on_pulse_end,
		    slot);
	} else if (slot->release_failing) {
		log_locker(LOG_NOTICE, slot->locker, "locker %u: lock released",
			   slot->locker);
		slot->release_failing = false;
	}
	return 0;
}

/* Energises a lock and times its release; -errno when it cannot. */
static int unlock(struct daemon *d, unsigned locker, uint32_t pulse_ms)
{
	struct pulse_slot *slot = &d->pulses[locker - 1];
	int err;

	err = lockbank_set_lock(d->lockbank, locker, true);
	lockbank_watch(d);
	if (err < 0) {
		log_locker(LOG_ERR, locker, "locker %u: unlock failed: %s",
			   locker, strerror(-err));
		return err;
	}
	slot->energised_usec = now_usec(CLOCK_MONOTONIC);
	slot->pulse_ms = pulse_ms;
	err = arm(d->event, &slot->source,
		  slot->energised_usec + pulse_ms * 1000ULL, on_pulse_end,
		  slot);
	if (err < 0) {
		/* Never leave a coil energised: end the pulse at once. */
		log_locker(LOG_ERR, locker,
			   "locker %u: cannot time the lock pulse: %s", locker,
			   strerror(-err));
		lockbank_set_lock(d->lockbank, locker, false);
	}
	return 0;
}

static void log_record(const struct kiosk_record *r, const char *uuid)
{
	struct log_fields f = {
		.locker = r->locker,
		.event = uuid,
		.hold = r->hold_id,
	};

	log_at(LOG_INFO, &f, "event %s: %s%s%s locker %u%s%s", uuid,
	       kiosk_record_type_to_string(r->type),
	       r->hold_id[0] ? " hold " : "", r->hold_id, r->locker,
	       r->type == KIOSK_RECORD_LOCKER_UNLOCKED ? " for " : "",
	       r->type == KIOSK_RECORD_LOCKER_UNLOCKED ?
		       kiosk_purpose_to_string(r->purpose) :
		       "");
}

static void log_screen(const struct kiosk_screen_info *s)
{
	char lockers[KIOSK_SESSION_LOCKERS_MAX * 5] = "";
	size_t off = 0;

	for (unsigned i = 0; i < s->n_lockers && off < sizeof(lockers); i++)
		off += (size_t)snprintf(lockers + off, sizeof(lockers) - off,
					" %u", s->lockers[i]);
	log_info("screen: %s%s", kiosk_screen_to_string(s->screen), lockers);
}

/*
 * The titles of the books in the lockers opened for a patron, with the
 * dates they are lent until where the server sent them, taken when
 * they open (the holds leave the lockers as the doors open), kept for the
 * screen until the session's thank-you is over.
 */
static void remember_titles(struct daemon *d, const struct kiosk_screen_info *s)
{
	struct store_hold *sh;

	switch (s->screen) {
	case KIOSK_SCREEN_LOCKERS_OPEN:
		if (d->session_titles)
			return;
		break;
	case KIOSK_SCREEN_CLOSE_DOOR:
	case KIOSK_SCREEN_THANK_YOU:
	case KIOSK_SCREEN_LOCKER_FAULT:
		return;
	case KIOSK_SCREEN_IDLE:
	case KIOSK_SCREEN_PIN:
	case KIOSK_SCREEN_WRONG_PIN:
	case KIOSK_SCREEN_LOCKED_OUT:
	case KIOSK_SCREEN_UNKNOWN_CARD:
	case KIOSK_SCREEN_NO_HOLDS:
	case KIOSK_SCREEN_PIN_NOT_SET:
	case KIOSK_SCREEN_STAFF_PIN:
	case KIOSK_SCREEN_STAFF_MENU:
	case KIOSK_SCREEN_RETURN_IDENTIFY:
	case KIOSK_SCREEN_RETURN_OPEN:
	case KIOSK_SCREEN_RETURN_FULL:
	case KIOSK_SCREEN_BAD_CREDENTIAL:
	case KIOSK_SCREEN_CHOOSE_BOOKS:
		json_decref(d->session_titles);
		d->session_titles = NULL;
		return;
	}
	sh = malloc(sizeof(*sh));
	d->session_titles = json_array();
	for (unsigned i = 0; sh && i < s->n_lockers; i++) {
		struct kiosk_locker_info li;

		if (kiosk_get_locker(d->kiosk, s->lockers[i], &li) < 0 ||
		    !li.hold_id[0] || store_get_hold(d->store, li.hold_id, sh))
			continue;
		for (unsigned j = 0; j < sh->n_items; j++)
			if (sh->items[j].title[0])
				json_array_append_new(
					d->session_titles,
					json_pack("{s:s, s:s*}", "title",
						  sh->items[j].title, "due",
						  sh->items[j].due[0] ?
							  sh->items[j].due :
							  NULL));
	}
	free(sh);
}

static void checkpoint_soon(struct daemon *d);

/* One bounded step of pruning, when nothing else waits on the loop. */
static int on_prune(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;
	int r;

	r = store_prune_step(d->store, PRUNE_STEP_ROWS,
			     (int64_t)now_usec(CLOCK_REALTIME));
	if (r < 0) {
		/* Said once; the next events recorded try again. */
		if (!d->prune_failing)
			log_warning("pruning old events failed: %s",
				    store_last_error(d->store));
		d->prune_failing = true;
		return 0;
	}
	if (d->prune_failing)
		log_notice("pruning old events works again");
	d->prune_failing = false;
	checkpoint_soon(d);
	if (r > 0)
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static void checkpoint_end(struct daemon *d)
{
	d->checkpoint_source =
		sd_event_source_disable_unref(d->checkpoint_source);
	store_job_free(d->checkpoint);
	d->checkpoint = NULL;
}

static int on_checkpoint_done(sd_event_source *s, int fd, uint32_t revents,
			      void *userdata)
{
	struct daemon *d = userdata;
	const char *why = NULL;
	int err = store_job_result(d->checkpoint, &why);

	if (err == -EINPROGRESS)
		return 0;
	/* Said once; the WAL only grows meanwhile, up to the store's bound. */
	if (err < 0 && !d->checkpoint_failing)
		log_warning("database: %s", why);
	else if (err == 0 && d->checkpoint_failing)
		log_notice("database: checkpoints work again");
	d->checkpoint_failing = err < 0;
	checkpoint_end(d);
	return 0;
}

/*
 * Copies the WAL into the database file on the store's thread once it has
 * grown: SQLite would do it in a commit, on the loop, with an fsync.
 */
static void checkpoint_soon(struct daemon *d)
{
	int err;

	if (d->checkpoint || !store_checkpoint_due(d->store))
		return;
	d->checkpoint = store_job_start(d->store, STORE_JOB_CHECKPOINT, NULL);
	if (!d->checkpoint) {
		log_debug("database: cannot start a checkpoint: %s",
			  strerror(errno));
		return;
	}
	err = sd_event_add_io(d->event, &d->checkpoint_source,
			      store_job_get_fd(d->checkpoint), EPOLLIN,
			      on_checkpoint_done, d);
	if (err < 0) {
		log_debug("database: cannot wait for a checkpoint: %s",
			  strerror(-err));
		checkpoint_end(d);
	}
}

/* Starts pruning in idle steps when the store says it is due. */
static void prune_soon(struct daemon *d)
{
	if (d->prune_source && store_prune_due(d->store))
		sd_event_source_set_enabled(d->prune_source, SD_EVENT_ONESHOT);
	checkpoint_soon(d);
}

/* What became of a record that was to be made durable. */
static void record_done(struct daemon *d, const struct kiosk_record *rec,
			int err, const char *uuid, int *first_err)
{
	if (err < 0) {
		/*
		 * Said once: while the disk stays full every tap fails
		 * alike, and the screen says so.
		 */
		log_msg(d->out_of_service ? LOG_DEBUG : LOG_ERR,
			"event %s for locker %u not recorded: %s; out of service until events can be recorded",
			kiosk_record_type_to_string(rec->type), rec->locker,
			store_last_error(d->store));
		d->out_of_service = true;
		if (*first_err == 0)
			*first_err = err;
		return;
	}
	if (d->out_of_service) {
		log_notice("events are recorded again: back in service");
		d->out_of_service = false;
	}
	sync_kick(d->sync);
	d->counters.events[rec->type]++;
	log_record(rec, uuid);
	prune_soon(d);
}

/*
 * Makes durable, in one transaction, every record of acts that does not
 * follow a pulse of its own locker in acts: all the openings of a session
 * with one fsync, before the first coil is energised. A record that
 * follows its locker's pulse (a door whose sensor read open at the pulse,
 * taken as opened) depends on that pulse and waits for it. ret_errs[i]
 * gets action i's result, 1 for a record left for later.
 */
static void record_ahead(struct daemon *d, const struct kiosk_actions *acts,
			 char (*uuids)[STORE_UUID_LEN + 1], int *ret_errs)
{
	const struct kiosk_record *recs[KIOSK_ACTIONS_MAX];
	char batch_uuids[KIOSK_ACTIONS_MAX][STORE_UUID_LEN + 1];
	unsigned at[KIOSK_ACTIONS_MAX], n = 0;
	bool pulsed[KIOSK_LOCKERS_MAX + 1] = { false };
	int errs[KIOSK_ACTIONS_MAX];

	for (unsigned i = 0; i < acts->n; i++) {
		const struct kiosk_action *a = &acts->a[i];

		ret_errs[i] = 1;
		errs[i] = -EIO; /* never a pulse on what was not written */
		if (a->type == KIOSK_ACTION_UNLOCK &&
		    a->locker <= KIOSK_LOCKERS_MAX)
			pulsed[a->locker] = true;
		if (a->type != KIOSK_ACTION_RECORD ||
		    (a->record.locker <= KIOSK_LOCKERS_MAX &&
		     pulsed[a->record.locker]))
			continue;
		recs[n] = &a->record;
		at[n++] = i;
	}
	if (n == 0)
		return;
	/* On a failure of the whole, errs holds it for every record. */
	(void)store_record_batch(d->store, recs, n,
				 (int64_t)now_usec(CLOCK_REALTIME), batch_uuids,
				 errs);
	for (unsigned j = 0; j < n; j++) {
		ret_errs[at[j]] = errs[j];
		if (errs[j] == 0)
			memcpy(uuids[at[j]], batch_uuids[j], sizeof(uuids[0]));
	}
}

/*
 * Carries out the core's actions in order. An UNLOCK is carried out only
 * right after its own LOCKER_UNLOCKED record, made durable before any
 * lock of the batch is energised: the kiosk never opens a door it has not
 * recorded opening. Unlocks that were not carried out are reported back
 * to the core, which drops those openings. Returns 0, or the error of the
 * first record that failed.
 */
static int run_actions(struct daemon *d, const struct kiosk_actions *acts)
{
	unsigned skipped[KIOSK_LOCKERS_MAX], n_skipped = 0;
	bool not_unlocked[KIOSK_LOCKERS_MAX + 1] = { false };
	unsigned recorded_unlock = 0; /* locker of the record just before */
	/* Per action: a record's result (1: not made yet), and its UUID. */
	char uuids[KIOSK_ACTIONS_MAX][STORE_UUID_LEN + 1];
	int errs[KIOSK_ACTIONS_MAX];
	int first_err = 0;

	record_ahead(d, acts, uuids, errs);
	for (unsigned i = 0; i < acts->n; i++) {
		const struct kiosk_action *a = &acts->a[i];
		struct timer_slot *slot;
		unsigned unlock_ok = recorded_unlock;
		int err;

		recorded_unlock = 0;
		switch (a->type) {
		case KIOSK_ACTION_RECORD:
			/*
			 * A door whose sensor read open at the pulse is taken
			 * as opened in the same batch: not if it stayed locked.
			 */
			if (a->record.locker <= KIOSK_LOCKERS_MAX &&
			    not_unlocked[a->record.locker]) {
				log_warning(
					"event %s for locker %u dropped: the locker was not unlocked",
					kiosk_record_type_to_string(
						a->record.type),
					a->record.locker);
				break;
			}
			err = errs[i];
			if (err > 0)
				err = store_record(
					d->store, &a->record,
					(int64_t)now_usec(CLOCK_REALTIME),
					uuids[i]);
			record_done(d, &a->record, err, uuids[i], &first_err);
			if (err == 0 &&
			    a->record.type == KIOSK_RECORD_LOCKER_UNLOCKED)
				recorded_unlock = a->record.locker;
			break;
		case KIOSK_ACTION_UNLOCK:
			if (unlock_ok == a->locker &&
			    unlock(d, a->locker, a->pulse_ms) == 0) {
				d->counters.unlocks++;
				if (d->n_unlocked < KIOSK_LOCKERS_MAX)
					d->unlocked[d->n_unlocked++] =
						a->locker;
			} else if (n_skipped < KIOSK_LOCKERS_MAX) {
				skipped[n_skipped++] = a->locker;
				not_unlocked[a->locker] = true;
			}
			break;
		case KIOSK_ACTION_TIMER_ARM:
			slot = timer_slot(d, &a->timer);
			if (!slot)
				break;
			err = arm(d->event, &slot->source, a->at_usec, on_timer,
				  slot);
			if (err < 0)
				log_err("cannot arm a timer: %s",
					strerror(-err));
			break;
		case KIOSK_ACTION_TIMER_DISARM:
			slot = timer_slot(d, &a->timer);
			if (slot && slot->source)
				sd_event_source_set_enabled(slot->source,
							    SD_EVENT_OFF);
			break;
		case KIOSK_ACTION_GUARD:
			/*
			 * Not saved, a restart would forget these wrong
			 * tries; the kiosk itself still counts them.
			 */
			if (store_put_guard(d->store, &a->guard) < 0)
				log_err("cannot save the count of wrong codes and PINs: %s",
					store_last_error(d->store));
			break;
		case KIOSK_ACTION_OPENING_DROPPED:
			log_locker(
				LOG_INFO, a->locker,
				"locker %u: not opened after its patron cancelled; no fault",
				a->locker);
			/* Unsaved, a restart takes it as interrupted. */
			if (store_drop_opening(d->store, a->locker) < 0)
				log_err("locker %u: %s", a->locker,
					store_last_error(d->store));
			break;
		case KIOSK_ACTION_PIN_CHECK: {
			const struct kiosk_pin_check *c =
				kiosk_get_pin_check(d->kiosk);

			if (c && c->id == a->check_id)
				pincheck_submit(d->pincheck, c);
			break;
		}
		case KIOSK_ACTION_SCREEN:
			err = metrics_refusal_of(a->screen.screen);
			if (err >= 0)
				d->counters.refusals[err]++;
			log_screen(&a->screen);
			remember_titles(d, &a->screen);
			break;
		}
	}

	/* acts may be d->actions: it is reused from here on. */
	for (unsigned i = 0; i < n_skipped; i++) {
		struct kiosk_input in = {
			.type = KIOSK_INPUT_UNLOCK_FAILED,
			.locker = skipped[i],
			.now_usec = now_usec(CLOCK_MONOTONIC),
			.wall_usec = (int64_t)now_usec(CLOCK_REALTIME),
		};

		/* Out of service, the refused record said it already. */
		log_locker(d->out_of_service ? LOG_DEBUG : LOG_WARNING,
			   skipped[i], "locker %u: not unlocked", skipped[i]);
		d->actions->n = 0;
		if (kiosk_handle(d->kiosk, &in, d->actions) == 0)
			run_actions(d, d->actions);
	}
	return first_err;
}

/*
 * Stamps the input with the time, feeds it, carries out the actions.
 * Returns the core's refusal; ret_record_err (may be NULL) gets the error
 * of a record that could not be made durable, or 0.
 */
static int feed(struct daemon *d, struct kiosk_input *in, int *ret_record_err)
{
	int err, record_err;

	in->now_usec = now_usec(CLOCK_MONOTONIC);
	in->wall_usec = (int64_t)now_usec(CLOCK_REALTIME);
	d->screen_generation++;
	if (in->type == KIOSK_INPUT_CREDENTIAL && in->credential)
		d->counters.taps[metrics_credential_of(in->credential)]++;
	d->actions->n = 0;
	d->n_unlocked = 0;
	err = kiosk_handle(d->kiosk, in, d->actions);
	/* A refusal may still carry a screen explaining it. */
	record_err = run_actions(d, d->actions);
	if (ret_record_err)
		*ret_record_err = record_err;
	return err;
}

/*
 * feed() for inputs from the control socket and the server. A disable or
 * enable whose record could not be made durable is undone in the core too,
 * so the core never says what the database (and the server) will not: an
 * opening undoes itself the same way, through KIOSK_INPUT_UNLOCK_FAILED.
 */
static int feed_undoable(struct daemon *d, struct kiosk_input *in,
			 int *ret_record_err)
{
	struct kiosk_locker_info before;
	bool undoable = (in->type == KIOSK_INPUT_DISABLE ||
			 in->type == KIOSK_INPUT_ENABLE) &&
			kiosk_get_locker(d->kiosk, in->locker, &before) == 0;
	int err = feed(d, in, ret_record_err);

	if (undoable && *ret_record_err < 0) {
		struct kiosk_locker_state state = {
			.disabled = before.disabled,
			.fault = before.fault,
			.returns = before.returns,
		};

		kiosk_set_locker_state(d->kiosk, in->locker, &state);
		d->screen_generation++;
		log_warning(
			"locker %u: left %s, as it was: the change could not be recorded",
			in->locker, before.disabled ? "disabled" : "enabled");
	}
	return err;
}

/*
 * A `lokerctl recover` stopped half-way leaves its complete copy as
 * <database>.recovered: the file at the database's name may be the damaged
 * one, or lack its -wal. Starting on it would write to a file the copy is
 * about to replace; the recover run again finishes the swap.
 */
static int refuse_interrupted_recover(const char *path)
{
	char copy[PATH_MAX + 16];

	snprintf(copy, sizeof(copy), "%s.recovered", path);
	if (access(copy, F_OK) < 0)
		return 0;
	log_err("database %s: a `lokerctl recover` was interrupted and %s is its complete copy; run `lokerctl recover` again to put it in place, then start lokerd",
		path, copy);
	return -EILSEQ;
}

/*
 * Why lokerd will not start on its database and what fixes it, in one
 * line: recovery for a damaged file only, never for one that is intact.
 */
static void log_database_refused(const char *path)
{
	const char *why = store_open_reason();

	switch (store_open_failure()) {
	case STORE_OPEN_FAILURE_CORRUPT:
		log_err("database %s is corrupt (%s); stop lokerd and run `lokerctl recover`, which keeps every event it can read",
			path, why);
		break;
	case STORE_OPEN_FAILURE_READ_ONLY:
		log_err("database %s is read-only (%s); it is not damaged: make the file, its folder and its file system writable for lokerd's user, then start lokerd again",
			path, why);
		break;
	case STORE_OPEN_FAILURE_NEWER:
		log_err("database %s was written by a newer lokerbuku (%s); install that version again or restore a backup of this one",
			path, why);
		break;
	case STORE_OPEN_FAILURE_FOREIGN:
		log_err("database %s is not a lokerbuku database (%s); correct database= in the configuration",
			path, why);
		break;
	case STORE_OPEN_FAILURE_NONE:
	case STORE_OPEN_FAILURE_OTHER:
		log_err("database %s cannot be opened (%s)", path, why);
		break;
	}
}

/* Builds the core from the store and the door sensors, and starts it. */
static int start_core(struct daemon *d)
{
	struct kiosk_input start = { .type = KIOSK_INPUT_START };
	char value[8];
	int err;

	d->kiosk = kiosk_new(&d->config.kiosk);
	if (!d->kiosk)
		return -errno;
	err = store_load(d->store, d->kiosk);
	if (err < 0) {
		log_err("cannot load the kiosk state from %s: %s",
			d->config.database, store_last_error(d->store));
		return err;
	}
	load_open_commands(d);
	/* The server's setting, when it has sent one, beats the file's. */
	if (store_get_sync_value(d->store, "pin_required", value,
				 sizeof(value)) == 0) {
		kiosk_set_pin_required(d->kiosk, strcmp(value, "1") == 0);
		log_notice(
			"PIN policy: %s (the server's setting)",
			strcmp(value, "1") == 0 ?
				"a card needs the patron's PIN" :
				"a card alone opens, and so does a copy of it");
	} else {
		log_notice(
			"PIN policy: %s ([policy] pin_required)",
			d->config.kiosk.pin_required ?
				"a card needs the patron's PIN" :
				"a card alone opens, and so does a copy of it");
	}
	for (unsigned i = 1; i <= d->config.kiosk.n_lockers; i++) {
		bool open;

		if (lockbank_get_door(d->lockbank, i, &open) == 0)
			kiosk_set_door(d->kiosk, i, open);
	}
	err = feed(d, &start, NULL);
	if (err < 0)
		log_err("cannot start the kiosk: %s", strerror(-err));
	return err;
}

static int on_reader(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct daemon *d = userdata;
	struct reader_event ev;

	while (reader_read_event(d->reader, &ev) == 0) {
		struct kiosk_input in = {
			.type = KIOSK_INPUT_CREDENTIAL,
			.credential = ev.credential,
		};

		switch (ev.type) {
		case READER_EVENT_CARD_PRESENT:
			feed(d, &in, NULL);
			break;
		case READER_EVENT_CARD_REMOVED:
		case READER_EVENT_BARCODE: /* card readers send none */
		case READER_EVENT_UNREADABLE:
			break;
		case READER_EVENT_FAULT:
			/* Said once; the reader reopens it by itself. */
			log_err("card reader %s: %s",
				d->config.reader_connstring, ev.credential);
			d->screen_generation++; /* the screen says so */
			break;
		case READER_EVENT_RECOVERED:
			log_notice("card reader %s: answering again",
				   d->config.reader_connstring);
			d->screen_generation++;
			break;
		}
	}
	return 0;
}

static void load_scanned(struct daemon *d, const char *hold_id)
{
	struct kiosk_input in = { .type = KIOSK_INPUT_LOAD,
				  .hold_id = hold_id };
	int err;

	err = feed(d, &in, NULL);
	if (err < 0)
		log_warning(
			"hold %s, scanned in the staff session, not loaded: %s",
			hold_id, strerror(-err));
}

/* The server's answer for a scanned book the kiosk did not know. */
static void on_lookup(int err, const char *hold_id, void *userdata)
{
	struct daemon *d = userdata;

	if (err < 0) {
		log_notice(
			"a scan in the staff session matches no pending hold, here or on the server (%s)",
			err == -ENOENT ? "not known there" : strerror(-err));
		return;
	}
	/* The staff member may have left while the server answered. */
	if (!kiosk_in_staff_session(d->kiosk)) {
		log_notice(
			"hold %s came from the server after the staff session ended: not loaded",
			hold_id);
		return;
	}
	load_scanned(d, hold_id);
}

/*
 * True when text, taken as a member card (or a pickup code), is a
 * credential this kiosk knows: a staff member's, or a patron's of a hold
 * here. Such a scan in a staff session is a card scanned by mistake, and
 * never goes to the server (issue 19).
 */
static bool is_known_credential(struct daemon *d, const char *text)
{
	static const char *const prefixes[] = { "card:", "code:" };
	char raw[READER_CREDENTIAL_MAX + sizeof("card:")];
	char norm[CREDENTIAL_MAX + 1], hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	const struct kiosk_hold *h;
	bool known = false;

	for (size_t p = 0; !known && p < 2; p++) {
		snprintf(raw, sizeof(raw), "%s%s", prefixes[p], text);
		if (credential_normalise(raw, norm, sizeof(norm)) < 0 ||
		    credential_hmac(d->config.site_key,
				    d->config.kiosk.site_key_len, norm,
				    hmac) < 0)
			continue;
		known = kiosk_is_staff(d->kiosk, hmac);
		for (unsigned i = 0;
		     !known && (h = kiosk_get_hold_at(d->kiosk, i)); i++) {
			known = strcmp(h->code_hmac, hmac) == 0;
			for (unsigned c = 0; !known && c < h->n_credentials;
			     c++)
				known = strcmp(h->credential_hmacs[c], hmac) ==
					0;
		}
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(norm, sizeof(norm));
	return known;
}

/*
 * A scan is a member card on the patron's screens, and a book's barcode in
 * a staff session: the pending hold with that item is loaded, as if the
 * staff member had chosen it. Scanned text is never logged. Returns 0, or
 * -ENOENT when a staff scan matches no pending hold here or on the server.
 */
static int on_scan(struct daemon *d, const char *text)
{
	char credential[READER_CREDENTIAL_MAX + sizeof("card:")];
	struct kiosk_input in = { .type = KIOSK_INPUT_CREDENTIAL };
	char hold_id[KIOSK_HOLD_ID_MAX + 1];
	int err;

	if (!kiosk_in_staff_session(d->kiosk)) {
		struct kiosk_input item = { .type = KIOSK_INPUT_RETURN_ITEM,
					    .credential = text };

		/* A book going into an open return door is listed with it. */
		err = feed(d, &item, NULL);
		if (err == 0) {
			log_info(
				"a book scanned into the open return compartment");
			return 0;
		}
		if (err != -ENOENT) {
			log_notice(
				"a scan at the open return compartment not listed: %s",
				strerror(-err));
			return 0;
		}
		snprintf(credential, sizeof(credential), "card:%s", text);
		in.credential = credential;
		feed(d, &in, NULL);
		return 0;
	}
	/*
	 * Staff may scan a member card by mistake: the text is not logged, as
	 * it may be a member number.
	 */
	err = store_find_pending_hold_by_item(d->store, text, hold_id);
	if (err == -ENOENT && d->sync && is_known_credential(d, text)) {
		log_notice(
			"a scan in the staff session is a card this kiosk knows, not a book: not sent to the server");
		return -ENOENT;
	}
	if (err == -ENOENT && d->sync) {
		/* Placed after the last pull, perhaps: ask the server. */
		err = sync_lookup_item(d->sync, text, on_lookup, d);
		if (err == 0)
			return 0;
		log_notice(
			"a scan in the staff session: cannot ask the server: %s",
			strerror(-err));
		err = -ENOENT;
	}
	if (err == -ENOENT) {
		log_notice(
			"a scan in the staff session matches no pending hold");
		return err;
	}
	if (err < 0) {
		log_err("a scan in the staff session: %s",
			store_last_error(d->store));
		return err;
	}
	load_scanned(d, hold_id);
	return 0;
}

static int on_scanner(sd_event_source *s, int fd, uint32_t revents,
		      void *userdata)
{
	struct daemon *d = userdata;
	struct reader_event ev;

	while (reader_read_event(d->scanner, &ev) == 0) {
		switch (ev.type) {
		case READER_EVENT_BARCODE:
			on_scan(d, ev.credential);
			break;
		case READER_EVENT_UNREADABLE:
			/* Whoever scanned sees nothing happen, and scans again. */
			log_info("barcode scanner: a scan was not read: %s",
				 ev.credential);
			break;
		case READER_EVENT_CARD_PRESENT:
		case READER_EVENT_CARD_REMOVED:
			break;
		case READER_EVENT_FAULT:
			/* The reason names the device. */
			log_err("barcode scanner: %s", ev.credential);
			break;
		case READER_EVENT_RECOVERED:
			log_notice("barcode scanner %s: reading again",
				   d->config.scanner_device);
			break;
		}
	}
	return 0;
}

static int on_lockbank(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata)
{
	struct daemon *d = userdata;
	struct lockbank_event ev;

	while (lockbank_read_event(d->lockbank, &ev) == 0) {
		struct kiosk_input in = {
			.type = KIOSK_INPUT_DOOR,
			.locker = ev.locker,
			.door_open = ev.door_open,
		};

		log_locker(LOG_INFO, ev.locker, "locker %u: door %s", ev.locker,
			   ev.door_open ? "opened" : "closed");
		feed(d, &in, NULL);
	}
	lockbank_watch(d);
	return 0;
}

/* ---- control socket requests ---- */

static json_t *screen_json(const struct kiosk_screen_info *s)
{
	json_t *lockers = json_array();

	for (unsigned i = 0; i < s->n_lockers; i++)
		json_array_append_new(lockers, json_integer(s->lockers[i]));
	return json_pack("{s:s, s:o, s:i, s:s}", "name",
			 kiosk_screen_to_string(s->screen), "lockers", lockers,
			 "attempts_left", (int)s->attempts_left, "patron_name",
			 s->patron_name);
}

static json_t *ok_reply(struct daemon *d)
{
	return json_pack("{s:b, s:o}", "ok", 1, "screen",
			 screen_json(kiosk_get_screen(d->kiosk)));
}

/* ok_reply() plus the lockers the last input unlocked, in order. */
static json_t *input_reply(struct daemon *d)
{
	json_t *reply = ok_reply(d), *unlocked = json_array();

	for (unsigned i = 0; i < d->n_unlocked; i++)
		json_array_append_new(unlocked, json_integer(d->unlocked[i]));
	json_object_set_new(reply, "unlocked", unlocked);
	return reply;
}

static unsigned count_holds(const struct kiosk *k)
{
	unsigned n = 0;

	while (kiosk_get_hold_at(k, n))
		n++;
	return n;
}

/* How syncing goes, for lokerctl status; null without a server. */
static json_t *sync_json(struct daemon *d)
{
	struct sync_info si;
	char last_ok[32] = "";

	if (!d->sync)
		return json_null();
	sync_get_info(d->sync, &si);
	if (si.last_ok_usec)
		protocol_format_time(si.last_ok_usec, last_ok);
	return json_pack("{s:s, s:b, s:s?, s:s?, s:I, s:I, s:i, s:I, s:I, s:I, "
			 "s:I, s:i, s:o}",
			 "url", d->config.sync.url, "online", si.online,
			 "last_ok", last_ok[0] ? last_ok : NULL, "last_error",
			 si.last_error[0] ? si.last_error : NULL,
			 "rejected_events", (json_int_t)si.rejected_events,
			 "refused_events", (json_int_t)si.refused_events,
			 "batch_size", (int)si.batch_size, "requests",
			 (json_int_t)si.requests, "failures",
			 (json_int_t)si.failures, "last_request_ms",
			 (json_int_t)(si.last_request_usec / 1000), "connects",
			 (json_int_t)si.connects, "server_minor",
			 (int)si.server_minor, "clock_skew_ms",
			 si.has_clock_skew ? json_integer(si.clock_skew_ms) :
					     json_null());
}

static int add_refusal_json(const struct store_refusal *r, void *userdata)
{
	char at[32];

	protocol_format_time((int64_t)r->at_usec, at);
	return json_array_append_new(
		       userdata,
		       json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s, s:s}", "seq",
				 (json_int_t)r->event_seq, "event", r->uuid,
				 "type", r->type, "hold_id",
				 r->hold_id[0] ? r->hold_id : NULL, "code",
				 r->code, "text", r->text, "at", at)) ?
		       -ENOMEM :
		       0;
}

/*
 * v1.1: what the library system refused of what the server took (a
 * checkout over the loan limit), newest first, for staff to act on.
 */
static json_t *refusals_json(struct daemon *d)
{
	json_t *a = json_array();

	if (a && store_foreach_refusal(d->store, add_refusal_json, a) < 0)
		log_warning("cannot read the refusals: %s",
			    store_last_error(d->store));
	return a;
}

/* What status and the screen both say of a locker; new reference. */
static json_t *locker_json(const struct kiosk_locker_info *li)
{
	return json_pack(
		"{s:i, s:s, s:s, s:b, s:s, s:s, s:s, s:s}", "number",
		(int)li->number, "size", kiosk_size_to_string(li->size), "kind",
		li->kind == KIOSK_LOCKER_KIND_RETURN ? "return" : "hold",
		"disabled", li->disabled, "fault",
		kiosk_fault_to_string(li->fault), "door",
		li->door_open ? "open" : "closed", "state",
		kiosk_door_state_to_string(li->door_state), "purpose",
		kiosk_purpose_to_string(li->purpose));
}

static json_t *cmd_status(struct daemon *d)
{
	json_t *lockers = json_array(), *faults = json_array(), *reply;
	const char *bank_fault = lockbank_get_fault(d->lockbank);
	uint64_t unsent = 0;

	for (unsigned i = 1; i <= kiosk_get_n_lockers(d->kiosk); i++) {
		struct kiosk_locker_info li;
		bool energised = false, item;
		unsigned pulses = 0;
		json_t *l;

		kiosk_get_locker(d->kiosk, i, &li);
		l = locker_json(&li);
		json_object_update_new(
			l, json_pack("{s:b, s:b, s:s*, s:i}", "alarm_left_open",
				     li.alarm_left_open, "alarm_forced_open",
				     li.alarm_forced_open, "hold",
				     li.hold_id[0] ? li.hold_id : NULL,
				     "returns", (int)li.returns));
		/* A locker with an item sensor says whether it holds something. */
		if (lockbank_get_item(d->lockbank, i, &item) == 0)
			json_object_set_new(l, "item", json_boolean(item));
		if (lockbank_sim_get_lock(d->lockbank, i, &energised,
					  &pulses) == 0) {
			json_object_set_new(l, "lock_energised",
					    json_boolean(energised));
			json_object_set_new(l, "lock_pulses",
					    json_integer(pulses));
		}
		json_array_append_new(lockers, l);
		if (li.fault != KIOSK_FAULT_NONE)
			json_array_append_new(
				faults,
				json_sprintf("locker %u: %s", i,
					     kiosk_fault_to_string(li.fault)));
		if (li.alarm_forced_open)
			json_array_append_new(
				faults,
				json_sprintf("locker %u: forced open", i));
		if (li.alarm_left_open)
			json_array_append_new(
				faults,
				json_sprintf("locker %u: left open", i));
	}
	if (d->out_of_service)
		json_array_append_new(
			faults,
			json_string(
				"out of service: events cannot be recorded"));
	if (!reader_is_ok(d->reader))
		json_array_append_new(faults,
				      json_string("reader: not answering"));
	if (bank_fault)
		json_array_append_new(
			faults, json_sprintf("lock bank: %s", bank_fault));
	store_count_unsent(d->store, &unsent);
	reply = json_pack(
		"{s:b, s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:I, s:i, s:{s:s, s:b}, s:{s:s, s:b}, s:o}",
		"ok", 1, "kiosk_id", d->config.kiosk_id, "version",
		LOKERBUKU_VERSION, "in_service", !d->out_of_service, "uptime_s",
		(json_int_t)((now_usec(CLOCK_MONOTONIC) - d->started_usec) /
			     1000000ULL),
		"screen", screen_json(kiosk_get_screen(d->kiosk)), "lockers",
		lockers, "faults", faults, "backlog", (json_int_t)unsent,
		"active_holds", (int)count_holds(d->kiosk), "reader", "backend",
		reader_get_backend(d->reader), "ok", reader_is_ok(d->reader),
		"lockbank", "backend", lockbank_get_backend(d->lockbank), "ok",
		!bank_fault, "scanner",
		d->scanner ? json_pack("{s:s, s:b}", "device",
				       d->config.scanner_device, "ok",
				       reader_is_ok(d->scanner)) :
			     json_null());
	if (reply) {
		json_object_set_new(reply, "sync", sync_json(d));
		json_object_set_new(reply, "webui",
				    d->webui ?
					    json_pack("{s:s}", "url",
						      webui_get_url(d->webui)) :
					    json_null());
		json_object_set_new(
			reply, "metrics",
			d->metrics ?
				json_pack("{s:s, s:b}", "url",
					  metrics_get_url(d->metrics), "token",
					  d->config.metrics.token[0] != 0) :
				json_null());
	}
	return reply;
}

static int event_to_json(const struct store_event *e, void *userdata)
{
	json_t *payload = json_loads(e->payload, 0, NULL);

	json_array_append_new(
		userdata,
		json_pack("{s:I, s:s, s:s, s:I, s:o, s:b}", "seq",
			  (json_int_t)e->seq, "uuid", e->uuid, "type", e->type,
			  "at_usec", (json_int_t)e->at_usec, "payload",
			  payload ? payload : json_object(), "sent", e->sent));
	return 0;
}

static unsigned limit_of(json_t *req, unsigned fallback)
{
	json_int_t n = json_integer_value(json_object_get(req, "limit"));

	if (n <= 0)
		return fallback;
	return n > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : (unsigned)n;
}

static json_t *cmd_events(struct daemon *d, json_t *req)
{
	json_t *events = json_array();
	int err;

	err = store_foreach_event(d->store, limit_of(req, 20), event_to_json,
				  events);
	if (err < 0) {
		json_decref(events);
		return control_error(err, "cannot read events: %s",
				     store_last_error(d->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "events", events);
}

static int hold_to_json(const struct store_hold *sh, void *userdata)
{
	const struct kiosk_hold *h = &sh->hold;
	json_t *items = json_array();

	for (unsigned i = 0; i < sh->n_items; i++)
		json_array_append_new(items,
				      json_pack("{s:s, s:s, s:s*}", "barcode",
						sh->items[i].barcode, "title",
						sh->items[i].title, "due",
						sh->items[i].due[0] ?
							sh->items[i].due :
							NULL));
	json_array_append_new(
		userdata,
		json_pack("{s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:b, s:s*, s:o}",
			  "id", h->id, "state",
			  kiosk_hold_state_to_string(h->state), "locker",
			  (int)h->locker, "size", kiosk_size_to_string(h->size),
			  "patron_name", h->patron_name, "loaded_at_usec",
			  (json_int_t)h->loaded_at_usec, "expires_at_usec",
			  (json_int_t)h->expires_at_usec, "has_code",
			  h->code_hmac[0] != '\0', "reach",
			  h->needs_low ? "low" : NULL, "items", items));
	return 0;
}

static json_t *cmd_holds(struct daemon *d, json_t *req)
{
	json_t *holds = json_array();
	int err;

	err = store_foreach_hold(d->store, limit_of(req, 100), hold_to_json,
				 holds);
	if (err < 0) {
		json_decref(holds);
		return control_error(err, "cannot read holds: %s",
				     store_last_error(d->store));
	}
	return json_pack("{s:b, s:o}", "ok", 1, "holds", holds);
}

/* Normalises and hashes a credential given on the socket. */
static json_t *hash_credential(struct daemon *d, const char *raw,
			       char ret[CREDENTIAL_HMAC_HEX_LEN + 1])
{
	char norm[CREDENTIAL_MAX + 1];

	if (!raw || credential_normalise(raw, norm, sizeof(norm)) < 0)
		/* Not echoed: a card number is as private as its HMAC is not. */
		return control_error(
			EINVAL,
			"bad credential: use uid:<hex>, card:<member number> or code:<digits>");
	credential_hmac(d->config.site_key, d->config.kiosk.site_key_len, norm,
			ret);
	return NULL;
}

struct field {
	const char *name;
	json_type type;
};

/* A field present with the wrong JSON type is refused, not ignored. */
static json_t *check_fields(json_t *req, const struct field *fields, size_t n)
{
	static const char *const type_names[] = {
		[JSON_OBJECT] = "an object",
		[JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string",
		[JSON_INTEGER] = "an integer",
	};

	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(req, fields[i].name);

		if (v && json_typeof(v) != fields[i].type)
			return control_error(EINVAL, "%s: must be %s",
					     fields[i].name,
					     type_names[fields[i].type]);
	}
	return NULL;
}

/*
 * The PIN hash of "pin_hash", made by the client (lokerctl): hashing a
 * PIN here would hold the loop for PBKDF2, about 0.15 s at the default
 * cost, so a PIN in clear is refused. ret "" for none unless needed.
 */
static json_t *pin_hash_of(const char *pin, const char *pin_hash, bool needed,
			   char ret[PIN_HASH_MAX + 1])
{
	ret[0] = '\0';
	if (pin)
		return control_error(
			EINVAL,
			"pin: give pin_hash, the PIN hashed by the client (lokerctl does)");
	if (pin_hash) {
		if (credential_pin_hash_cost(pin_hash) < 0)
			return control_error(EINVAL,
					     "pin_hash: not a PIN hash");
		snprintf(ret, PIN_HASH_MAX + 1, "%s", pin_hash);
		return NULL;
	}
	if (needed)
		return control_error(EINVAL, "pin_hash: missing");
	return NULL;
}

static json_t *cmd_hold_add(struct daemon *d, json_t *req)
{
	static const struct field fields[] = {
		{ "id", JSON_STRING },
		{ "name", JSON_STRING },
		{ "code", JSON_STRING },
		{ "pin", JSON_STRING },
		{ "pin_hash", JSON_STRING },
		{ "size", JSON_STRING },
		{ "credentials", JSON_ARRAY },
		{ "items", JSON_ARRAY },
		{ "expires_in_s", JSON_INTEGER },
		{ "reach", JSON_STRING },
	};
	struct store_hold sh = { 0 };
	struct kiosk_hold *h = &sh.hold;
	const char *id = json_string_value(json_object_get(req, "id"));
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *code = json_string_value(json_object_get(req, "code"));
	const char *pin = json_string_value(json_object_get(req, "pin"));
	const char *size = json_string_value(json_object_get(req, "size"));
	const char *reach = json_string_value(json_object_get(req, "reach"));
	json_t *creds = json_object_get(req, "credentials");
	json_t *items = json_object_get(req, "items");
	json_int_t expires_in_s =
		json_integer_value(json_object_get(req, "expires_in_s"));
	json_t *err_reply, *v;
	size_t i;
	int err;

	err_reply =
		check_fields(req, fields, sizeof(fields) / sizeof(fields[0]));
	if (err_reply)
		return err_reply;
	/* Checked before the store takes it: the core must take it too. */
	if (count_holds(d->kiosk) >= d->config.kiosk.max_holds)
		return control_error(
			ENOSPC,
			"the kiosk keeps its maximum of %u holds ([policy] max_holds)",
			d->config.kiosk.max_holds);
	if (!id || !id[0] || strlen(id) > KIOSK_HOLD_ID_MAX)
		return control_error(EINVAL, "hold id: 1-%d characters",
				     KIOSK_HOLD_ID_MAX);
	memcpy(h->id, id, strlen(id) + 1);
	h->state = KIOSK_HOLD_STATE_PENDING;
	if (size && kiosk_size_from_string(size, &h->size) < 0)
		return control_error(EINVAL, "size: small, medium or large");
	if (reach && strcmp(reach, "low") != 0)
		return control_error(EINVAL, "reach: low, or none");
	h->needs_low = reach != NULL;
	/* Refused rather than cut: a cut could split a UTF-8 character. */
	if (name && strlen(name) > KIOSK_NAME_MAX)
		return control_error(EINVAL, "name: at most %d bytes",
				     KIOSK_NAME_MAX);
	if (name)
		memcpy(h->patron_name, name, strlen(name) + 1);
	if (json_array_size(creds) == 0 && !code)
		return control_error(
			EINVAL,
			"a hold needs patron credentials or a pickup code");
	if (json_array_size(creds) > KIOSK_HOLD_CREDENTIALS_MAX)
		return control_error(EINVAL, "at most %d credentials",
				     KIOSK_HOLD_CREDENTIALS_MAX);
	json_array_foreach(creds, i, v)
	{
		err_reply = hash_credential(d, json_string_value(v),
					    h->credential_hmacs[i]);
		if (err_reply)
			return err_reply;
		h->n_credentials++;
	}
	if (code) {
		char prefixed[CREDENTIAL_MAX + 1];

		snprintf(prefixed, sizeof(prefixed), "code:%s",
			 strncmp(code, "code:", 5) == 0 ? code + 5 : code);
		err_reply = hash_credential(d, prefixed, h->code_hmac);
		if (err_reply)
			return err_reply;
	}
	err_reply = pin_hash_of(
		pin, json_string_value(json_object_get(req, "pin_hash")), false,
		h->pin_hash);
	if (err_reply)
		return err_reply;
	if (expires_in_s < 0 || expires_in_s > HOLD_EXPIRES_IN_MAX_S)
		return control_error(EINVAL, "expires_in_s: 1-%d seconds",
				     HOLD_EXPIRES_IN_MAX_S);
	if (expires_in_s > 0)
		h->expires_at_usec = (int64_t)now_usec(CLOCK_REALTIME) +
				     (int64_t)expires_in_s * 1000000;
	if (json_array_size(items) > STORE_ITEMS_MAX)
		return control_error(EINVAL, "at most %d items",
				     STORE_ITEMS_MAX);
	json_array_foreach(items, i, v)
	{
		const char *barcode =
			json_string_value(json_object_get(v, "barcode"));
		const char *title =
			json_string_value(json_object_get(v, "title"));
		const char *due = json_string_value(json_object_get(v, "due"));

		if (!barcode || !barcode[0] ||
		    strlen(barcode) > STORE_BARCODE_MAX)
			return control_error(EINVAL,
					     "item barcode: 1-%d characters",
					     STORE_BARCODE_MAX);
		snprintf(sh.items[i].barcode, sizeof(sh.items[i].barcode), "%s",
			 barcode);
		if (title && strlen(title) > STORE_TITLE_MAX)
			return control_error(EINVAL,
					     "item title: at most %d bytes",
					     STORE_TITLE_MAX);
		snprintf(sh.items[i].title, sizeof(sh.items[i].title), "%s",
			 title ? title : "");
		if (due && !protocol_is_date(due))
			return control_error(
				EINVAL, "item due: a date like 2026-12-20");
		snprintf(sh.items[i].due, sizeof(sh.items[i].due), "%s",
			 due ? due : "");
		sh.n_items++;
	}
	h->n_items = sh.n_items;
	err = store_add_hold(d->store, &sh);
	if (err == -EEXIST)
		return control_error(err, "hold %s exists already", id);
	if (err < 0)
		return control_error(err, "cannot store hold %s: %s", id,
				     store_last_error(d->store));
	err = kiosk_add_hold(d->kiosk, h);
	if (err < 0)
		return control_error(
			err,
			"hold %s stored, but the kiosk cannot take it now: %s",
			id, strerror(-err));
	log_info("hold %s added (%u credentials%s, %u items)", id,
		 h->n_credentials, h->code_hmac[0] ? ", pickup code" : "",
		 sh.n_items);
	return ok_reply(d);
}

static json_t *cmd_staff_add(struct daemon *d, json_t *req)
{
	const char *cred =
		json_string_value(json_object_get(req, "credential"));
	const char *pin = json_string_value(json_object_get(req, "pin"));
	const char *role = json_string_value(json_object_get(req, "role"));
	struct kiosk_staff st = { .role = KIOSK_STAFF_ROLE_STAFF };
	json_t *err_reply;
	int err;

	err_reply = hash_credential(d, cred, st.credential_hmac);
	if (err_reply)
		return err_reply;
	err_reply = pin_hash_of(
		pin, json_string_value(json_object_get(req, "pin_hash")), true,
		st.pin_hash);
	if (err_reply)
		return err_reply;
	if (role && strcmp(role, "admin") == 0)
		st.role = KIOSK_STAFF_ROLE_ADMIN;
	else if (role && strcmp(role, "staff") != 0)
		return control_error(EINVAL, "role: staff or admin");
	err = store_put_staff(d->store, &st);
	if (err < 0)
		return control_error(err, "cannot store staff: %s",
				     store_last_error(d->store));
	err = kiosk_put_staff(d->kiosk, &st);
	if (err < 0)
		return control_error(err, "staff stored, but not taken: %s",
				     strerror(-err));
	log_info("staff credential added");
	return ok_reply(d);
}

static json_t *refusal(struct daemon *d, int err, const struct kiosk_input *in)
{
	switch (-err) {
	case EPERM:
		return control_error(err, "no staff session");
	case ENOENT:
		return control_error(err, "no hold %s on this kiosk",
				     in->hold_id);
	case EALREADY:
		if (in->hold_id)
			return control_error(
				err, "hold %s is not in a state for that",
				in->hold_id);
		return control_error(err, "locker %u is already so",
				     in->locker);
	case EBUSY:
		if (in->locker)
			return control_error(
				err,
				"locker %u is occupied or its door is busy",
				in->locker);
		return control_error(err, "busy");
	case EACCES:
		return control_error(err, "locker %u is disabled or faulted",
				     in->locker);
	case ENOSPC:
		return control_error(err, "no free locker fits hold %s",
				     in->hold_id);
	case EINVAL:
		if (in->locker)
			return control_error(
				err, "locker %u: no such locker here (1-%u)",
				in->locker, kiosk_get_n_lockers(d->kiosk));
		return control_error(err, "invalid request");
	default:
		return control_error(err, "refused: %s", strerror(-err));
	}
}

/*
 * The "locker" field: absent or 0 gives 0 ("choose", where that means
 * something), else an integer 1..n. Returns 0 or -EINVAL.
 */
static int locker_field(struct daemon *d, json_t *req, unsigned *ret)
{
	json_t *v = json_object_get(req, "locker");
	json_int_t n;

	*ret = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (n < 0 || n > kiosk_get_n_lockers(d->kiosk))
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

static json_t *pin_reply_later(struct daemon *d);

/* Feeds a staff command or a screen input; the reply tells the screen. */
static json_t *cmd_input(struct daemon *d, json_t *req,
			 enum kiosk_input_type type)
{
	struct kiosk_input in = {
		.type = type,
		/* Within the screen's staff session when asked, else service. */
		.service = !json_is_true(json_object_get(req, "session")),
		/* Who on this machine asked, when it came on the socket. */
		.actor = control_get_peer(d->control),
		.hold_id = json_string_value(json_object_get(req, "hold")),
		.pin = json_string_value(json_object_get(req, "pin")),
	};
	int err, record_err;

	if (locker_field(d, req, &in.locker) < 0 ||
	    (in.locker == 0 &&
	     (type == KIOSK_INPUT_OPEN || type == KIOSK_INPUT_DISABLE ||
	      type == KIOSK_INPUT_ENABLE)))
		return control_error(EINVAL, "locker: a number from 1 to %u",
				     kiosk_get_n_lockers(d->kiosk));
	if ((type == KIOSK_INPUT_LOAD || type == KIOSK_INPUT_UNLOAD) &&
	    !in.hold_id)
		return control_error(EINVAL, "hold: the hold's id");
	if (type == KIOSK_INPUT_PIN && !in.pin)
		return control_error(EINVAL, "pin: digits");
	err = feed_undoable(d, &in, &record_err);
	if (err < 0)
		return refusal(d, err, &in);
	if (record_err < 0)
		return control_error(
			record_err,
			"not done: an event could not be recorded (%s); the kiosk is out of service until events can be recorded",
			store_last_error(d->store));
	/* The event names the staff member; the journal, who really asked. */
	if (!in.service && in.actor)
		log_info("control: %s acted in the screen's staff session: %s",
			 in.actor,
			 json_string_value(json_object_get(req, "cmd")));
	if (type == KIOSK_INPUT_PIN && kiosk_get_pin_check(d->kiosk))
		return pin_reply_later(d);
	return input_reply(d);
}

/*
 * The patron's choice on CHOOSE_BOOKS: "leave", for each hold taken in
 * part or not at all, the barcodes of its books left in the locker. Each
 * must be the hold's own (the core only counts them). The screen then
 * lists the books taken.
 */
static json_t *cmd_pickup(struct daemon *d, json_t *req)
{
	json_t *leave = json_object_get(req, "leave");
	struct kiosk_pick picks[KIOSK_SESSION_LOCKERS_MAX];
	const char *left[KIOSK_SESSION_LOCKERS_MAX][KIOSK_HOLD_ITEMS_MAX];
	struct kiosk_input in = { .type = KIOSK_INPUT_PICKUP, .picks = picks };
	const struct kiosk_screen_info *screen = kiosk_get_screen(d->kiosk);
	unsigned choice[KIOSK_SESSION_LOCKERS_MAX];
	json_t *taken[KIOSK_SESSION_LOCKERS_MAX] = { NULL };
	size_t n_choice = 0;
	struct store_hold *sh;
	json_t *titles, *reply = NULL;
	int err, record_err;
	size_t i, j;

	if (json_is_null(leave))
		leave = NULL;
	if (leave && (!json_is_array(leave) ||
		      json_array_size(leave) > KIOSK_SESSION_LOCKERS_MAX))
		return control_error(EINVAL,
				     "leave: an array of at most %d holds",
				     KIOSK_SESSION_LOCKERS_MAX);
	if (screen->screen != KIOSK_SCREEN_CHOOSE_BOOKS)
		return control_error(EALREADY, "no patron is choosing books");
	sh = malloc(sizeof(*sh));
	titles = json_array();
	if (!sh || !titles) {
		free(sh);
		json_decref(titles);
		return control_error(ENOMEM, "out of memory");
	}
	for (i = 0; i < json_array_size(leave); i++) {
		json_t *p = json_array_get(leave, i);
		const char *id = json_string_value(json_object_get(p, "hold"));
		json_t *items = json_object_get(p, "items");

		if (!id || !json_is_array(items) ||
		    json_array_size(items) > KIOSK_HOLD_ITEMS_MAX) {
			reply = control_error(
				EINVAL,
				"leave[%zu]: hold, and items: the barcodes left",
				i);
			goto out;
		}
		picks[i] = (struct kiosk_pick){
			.hold_id = id,
			.n_left = (unsigned)json_array_size(items),
			.left = left[i]
		};
		if (store_get_hold(d->store, id, sh) < 0) {
			reply = control_error(ENOENT, "no hold %s", id);
			goto out;
		}
		for (j = 0; j < json_array_size(items); j++) {
			const char *b =
				json_string_value(json_array_get(items, j));
			bool own = false;

			for (unsigned n = 0; b && n < sh->n_items && !own; n++)
				own = !strcmp(sh->items[n].barcode, b);
			if (!own) {
				reply = control_error(
					EINVAL,
					"leave[%zu]: %s is not a book of hold %s",
					i, b ? b : "(not a string)", id);
				goto out;
			}
			left[i][j] = b;
		}
	}
	in.n_picks = (unsigned)i;
	/*
	 * The books taken, per locker on the screen: read before the feed,
	 * which may take them out of the store (a door read open at once).
	 */
	n_choice = screen->n_lockers;
	for (i = 0; i < n_choice; i++) {
		struct kiosk_locker_info li;
		const struct kiosk_pick *p = NULL;

		choice[i] = screen->lockers[i];
		taken[i] = json_array();
		if (!taken[i]) {
			reply = control_error(ENOMEM, "out of memory");
			goto out;
		}
		if (kiosk_get_locker(d->kiosk, choice[i], &li) < 0 ||
		    !li.hold_id[0] || store_get_hold(d->store, li.hold_id, sh))
			continue;
		for (j = 0; j < in.n_picks && !p; j++)
			if (!strcmp(picks[j].hold_id, li.hold_id))
				p = &picks[j];
		for (unsigned n = 0; n < sh->n_items; n++) {
			bool is_left = false;

			for (j = 0; p && j < p->n_left && !is_left; j++)
				is_left = !strcmp(p->left[j],
						  sh->items[n].barcode);
			if (!is_left && sh->items[n].title[0])
				json_array_append_new(
					taken[i],
					json_pack("{s:s, s:s*}", "title",
						  sh->items[n].title, "due",
						  sh->items[n].due[0] ?
							  sh->items[n].due :
							  NULL));
		}
	}
	/* Set, so the screen of the opened lockers does not read the store. */
	json_decref(d->session_titles);
	d->session_titles = titles;
	titles = NULL;
	err = feed_undoable(d, &in, &record_err);
	if (err < 0) {
		json_decref(d->session_titles);
		d->session_titles = NULL;
		reply = err == -EINVAL ?
				control_error(
					err,
					"leave: not the holds on the screen, or every book of them") :
				control_error(err,
					      "no patron is choosing books");
		goto out;
	}
	/* Only the lockers that opened: not those disabled, busy, expired. */
	screen = kiosk_get_screen(d->kiosk);
	for (i = 0; screen->screen == KIOSK_SCREEN_LOCKERS_OPEN &&
		    i < screen->n_lockers;
	     i++) {
		struct kiosk_locker_info li;

		if (kiosk_get_locker(d->kiosk, screen->lockers[i], &li) < 0 ||
		    li.purpose != KIOSK_PURPOSE_PICKUP)
			continue;
		for (j = 0; j < n_choice; j++)
			if (choice[j] == screen->lockers[i])
				json_array_extend(d->session_titles, taken[j]);
	}
	if (record_err < 0)
		reply = control_error(
			record_err,
			"not done: an event could not be recorded (%s); the kiosk is out of service until events can be recorded",
			store_last_error(d->store));
	else
		reply = input_reply(d);
out:
	for (i = 0; i < n_choice; i++)
		json_decref(taken[i]);
	json_decref(titles);
	free(sh);
	return reply;
}

/*
 * A PIN typed through the control socket is answered once it is checked,
 * with what it led to (the screen, the lockers unlocked); through the web
 * UI at once, whose screen follows the state's stream.
 */
static json_t *pin_reply_later(struct daemon *d)
{
	struct control_reply *r = control_defer(d->control);

	if (!r)
		return input_reply(d);
	/* An earlier one waits for a check its session dropped: done. */
	control_reply_send(d->pin_reply, d->pin_reply ? input_reply(d) : NULL);
	d->pin_reply = r;
	d->pin_reply_check = kiosk_get_pin_check(d->kiosk)->id;
	return NULL;
}

/* Answers from the PIN thread, to the core. */
static int on_pin_checked(sd_event_source *s, int fd, uint32_t revents,
			  void *userdata)
{
	struct daemon *d = userdata;
	struct kiosk_input in = { .type = KIOSK_INPUT_PIN_CHECKED };
	const struct kiosk_pin_check *c;

	while (pincheck_take(d->pincheck, &in.check_id, &in.pin_matched) == 0) {
		feed(d, &in, NULL);
		if (!d->pin_reply)
			continue;
		c = kiosk_get_pin_check(d->kiosk);
		/* Its answer, or one whose check took its place. */
		if (in.check_id == d->pin_reply_check || !c ||
		    c->id != d->pin_reply_check) {
			control_reply_send(d->pin_reply, input_reply(d));
			d->pin_reply = NULL;
		}
	}
	return 0;
}

/* The reply to the backup or check that job just finished. */
static json_t *job_reply(struct daemon *d, struct store_job *job)
{
	const char *why = NULL;
	struct stat st;
	int err;

	err = store_job_result(job, &why);
	if (!d->job_path[0]) {
		if (err < 0)
			return control_error(
				err, "database integrity check failed: %s",
				why);
		return json_pack("{s:b, s:s}", "ok", 1, "integrity", "ok");
	}
	if (err < 0)
		return control_error(err, "%s", why);
	log_notice("database copied to %s", d->job_path);
	return json_pack(
		"{s:b, s:s, s:I}", "ok", 1, "path", d->job_path, "bytes",
		(json_int_t)(stat(d->job_path, &st) == 0 ? st.st_size : 0));
}

static void job_end(struct daemon *d)
{
	d->job_source = sd_event_source_disable_unref(d->job_source);
	store_job_free(d->job);
	d->job = NULL;
	d->job_path[0] = '\0';
}

static int on_job_done(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata)
{
	struct daemon *d = userdata;

	if (store_job_result(d->job, NULL) == -EINPROGRESS)
		return 0;
	control_reply_send(d->job_reply, job_reply(d, d->job));
	d->job_reply = NULL;
	job_end(d);
	return 0;
}

/*
 * A backup (path set) or an integrity check, on a thread of the store's:
 * seconds at a million events, which the loop must not wait for. The
 * control client's reply is sent when it is done; one at a time.
 */
static json_t *start_job(struct daemon *d, const char *path)
{
	enum store_job_kind kind = path ? STORE_JOB_BACKUP : STORE_JOB_CHECK;
	int err;

	if (d->job)
		return control_error(
			EBUSY,
			"a backup or an integrity check is under way; ask again when it is done");
	d->job = store_job_start(d->store, kind, path);
	if (!d->job)
		return control_error(errno, "cannot start the %s: %s",
				     path ? "backup" : "integrity check",
				     strerror(errno));
	snprintf(d->job_path, sizeof(d->job_path), "%s", path ? path : "");
	err = sd_event_add_io(d->event, &d->job_source,
			      store_job_get_fd(d->job), EPOLLIN, on_job_done,
			      d);
	if (err >= 0) {
		d->job_reply = control_defer(d->control);
		if (!d->job_reply)
			err = -errno;
	}
	if (err < 0) {
		job_end(d);
		return control_error(err, "cannot wait for the %s: %s",
				     path ? "backup" : "integrity check",
				     strerror(-err));
	}
	return NULL; /* the reply comes from on_job_done() */
}

/*
 * A consistent copy of the database while lokerd runs: at "path" (absolute,
 * not there yet), or beside the database, named by the time.
 */
static json_t *cmd_backup(struct daemon *d, json_t *req)
{
	const char *path = json_string_value(json_object_get(req, "path"));
	char made[PATH_MAX], stamp[32];
	time_t now = time(NULL);

	if (json_object_get(req, "path") &&
	    (!path || path[0] != '/' || strlen(path) >= PATH_MAX))
		return control_error(EINVAL, "path: an absolute file name");
	if (!path) {
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
		if (snprintf(made, sizeof(made), "%s.backup-%s",
			     d->config.database, stamp) >= (int)sizeof(made))
			return control_error(ENAMETOOLONG,
					     "backup: path too long");
		path = made;
	}
	/* Said at once, not after a thread has started. */
	if (access(path, F_OK) == 0)
		return control_error(EEXIST, "backup: %s exists", path);
	return start_job(d, path);
}

/* How the loop has kept time; "reset" starts the figures again. */
static json_t *cmd_loop_stats(struct daemon *d, json_t *req)
{
	json_t *reply = json_pack(
		"{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", 1, "callbacks",
		(json_int_t)d->loop.callbacks, "longest_callback_us",
		(json_int_t)d->loop.longest_usec, "longest_callback_cpu_us",
		(json_int_t)d->loop.longest_cpu_usec, "longest_callback_own_us",
		(json_int_t)d->loop.longest_own_usec, "pulses",
		(json_int_t)d->loop.pulses, "worst_pulse_error_us",
		(json_int_t)d->loop.worst_pulse_error_usec);

	if (json_is_true(json_object_get(req, "reset")))
		d->loop = (struct loop_stats){ 0 };
	return reply;
}

/* A pickup code typed on the screen's keypad: as if a card was read. */
static json_t *cmd_code(struct daemon *d, json_t *req)
{
	const char *code = json_string_value(json_object_get(req, "code"));
	char credential[sizeof("code:") + CREDENTIAL_CODE_DIGITS_MAX];
	struct kiosk_input in = { .type = KIOSK_INPUT_CREDENTIAL,
				  .credential = credential };
	size_t n = code ? strlen(code) : 0;

	if (n < CREDENTIAL_CODE_DIGITS_MIN || n > CREDENTIAL_CODE_DIGITS_MAX ||
	    strspn(code, "0123456789") != n)
		return control_error(EINVAL, "code: 6 to 12 digits");
	snprintf(credential, sizeof(credential), "code:%s", code);
	feed(d, &in, NULL);
	return input_reply(d);
}

/* A barcode typed in the staff session on the screen, as if scanned. */
/* A request's scanned "text": 1 to READER_CREDENTIAL_MAX bytes, or NULL. */
static const char *scan_text(json_t *req)
{
	const char *text = json_string_value(json_object_get(req, "text"));

	return text && text[0] && strlen(text) <= READER_CREDENTIAL_MAX ? text :
									  NULL;
}

static json_t *cmd_scan(struct daemon *d, json_t *req)
{
	const char *text = scan_text(req);

	if (!text)
		return control_error(EINVAL,
				     "text: a scan of 1 to %d characters",
				     READER_CREDENTIAL_MAX);
	if (!kiosk_in_staff_session(d->kiosk))
		return control_error(EPERM, "no staff session");
	d->n_unlocked = 0;
	if (on_scan(d, text) == -ENOENT)
		return control_error(ENOENT,
				     "no pending hold has that barcode");
	return input_reply(d);
}

/* Takes what a simulated device queued, now, so the reply shows its effect. */
static void drain_devices(struct daemon *d)
{
	d->n_unlocked = 0;
	on_reader(NULL, -1, 0, d);
	on_lockbank(NULL, -1, 0, d);
}

static json_t *cmd_sim_tap(struct daemon *d, json_t *req)
{
	const char *cred =
		json_string_value(json_object_get(req, "credential"));
	int err;

	err = reader_sim_present(d->reader, cred);
	if (err == 0)
		err = reader_sim_remove(d->reader);
	if (err == -EOPNOTSUPP)
		return control_error(err, "the reader is not simulated");
	if (err < 0)
		return control_error(err, "cannot tap: %s", strerror(-err));
	drain_devices(d);
	return input_reply(d);
}

/*
 * What a keyboard-wedge scanner would send, for tests and the demo: only
 * on a kiosk with the simulated reader, like sim tap.
 */
static json_t *cmd_sim_scan(struct daemon *d, json_t *req)
{
	const char *text = scan_text(req);

	if (d->config.reader_backend != CONFIG_BACKEND_SIM)
		return control_error(EOPNOTSUPP, "the reader is not simulated");
	if (!text)
		return control_error(EINVAL,
				     "text: a scan of 1 to %d characters",
				     READER_CREDENTIAL_MAX);
	on_scan(d, text);
	return input_reply(d);
}

static json_t *cmd_sim_door(struct daemon *d, json_t *req)
{
	json_int_t locker = json_integer_value(json_object_get(req, "locker"));
	json_t *open = json_object_get(req, "open");
	int err;

	if (!json_is_boolean(open))
		return control_error(EINVAL, "open: true or false");
	if (locker < 1 || locker > lockbank_get_n_lockers(d->lockbank))
		return control_error(EINVAL, "locker: 1-%u",
				     lockbank_get_n_lockers(d->lockbank));
	err = lockbank_sim_set_door(d->lockbank, (unsigned)locker,
				    json_is_true(open));
	if (err == -EOPNOTSUPP)
		return control_error(err, "the lock bank is not simulated");
	if (err < 0)
		return control_error(err, "cannot move door: %s",
				     strerror(-err));
	drain_devices(d);
	return input_reply(d);
}

static json_t *on_request(json_t *req, void *userdata)
{
	struct daemon *d = userdata;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd)
		return control_error(EINVAL, "request without \"cmd\"");
	if (strcmp(cmd, "status") == 0)
		return cmd_status(d);
	if (strcmp(cmd, "events") == 0)
		return cmd_events(d, req);
	if (strcmp(cmd, "holds") == 0)
		return cmd_holds(d, req);
	if (strcmp(cmd, "hold-add") == 0)
		return cmd_hold_add(d, req);
	if (strcmp(cmd, "staff-add") == 0)
		return cmd_staff_add(d, req);
	if (strcmp(cmd, "load") == 0)
		return cmd_input(d, req, KIOSK_INPUT_LOAD);
	if (strcmp(cmd, "unload") == 0)
		return cmd_input(d, req, KIOSK_INPUT_UNLOAD);
	if (strcmp(cmd, "open") == 0)
		return cmd_input(d, req, KIOSK_INPUT_OPEN);
	if (strcmp(cmd, "disable") == 0)
		return cmd_input(d, req, KIOSK_INPUT_DISABLE);
	if (strcmp(cmd, "enable") == 0)
		return cmd_input(d, req, KIOSK_INPUT_ENABLE);
	if (strcmp(cmd, "pin") == 0)
		return cmd_input(d, req, KIOSK_INPUT_PIN);
	if (strcmp(cmd, "return") == 0)
		return cmd_input(d, req, KIOSK_INPUT_RETURN_START);
	if (strcmp(cmd, "cancel") == 0)
		return cmd_input(d, req, KIOSK_INPUT_CANCEL);
	if (strcmp(cmd, "pickup") == 0)
		return cmd_pickup(d, req);
	if (strcmp(cmd, "code") == 0)
		return cmd_code(d, req);
	if (strcmp(cmd, "scan") == 0)
		return cmd_scan(d, req);
	if (strcmp(cmd, "sim-tap") == 0)
		return cmd_sim_tap(d, req);
	if (strcmp(cmd, "sim-door") == 0)
		return cmd_sim_door(d, req);
	if (strcmp(cmd, "sim-scan") == 0)
		return cmd_sim_scan(d, req);
	if (strcmp(cmd, "sync") == 0) {
		uint64_t wait;

		if (!d->sync)
			return control_error(
				ENOTCONN, "no server: [sync] url is not set");
		wait = sync_now(d->sync);
		return json_pack("{s:b, s:I}", "ok", 1, "retry_after_s",
				 (json_int_t)((wait + 999999) / 1000000));
	}
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(d, req);
	if (strcmp(cmd, "check") == 0)
		return start_job(d, NULL);
	if (strcmp(cmd, "loop-stats") == 0)
		return cmd_loop_stats(d, req);
	return control_error(EINVAL, "unknown command '%s'", cmd);
}

/* ---- the screen ---- */

/* A hold for the staff member on the screen, with its items. */
static json_t *screen_hold_json(struct daemon *d, const struct kiosk_hold *h,
				struct store_hold *scratch)
{
	json_t *items = json_array();
	char expires_at[32] = "";

	if (store_get_hold(d->store, h->id, scratch) == 0)
		for (unsigned i = 0; i < scratch->n_items; i++)
			json_array_append_new(
				items,
				json_pack("{s:s, s:s, s:s*}", "barcode",
					  scratch->items[i].barcode, "title",
					  scratch->items[i].title, "due",
					  scratch->items[i].due[0] ?
						  scratch->items[i].due :
						  NULL));
	if (h->expires_at_usec)
		protocol_format_time(h->expires_at_usec, expires_at);
	return json_pack("{s:s, s:s, s:s, s:i, s:s?, s:s?, s:s*, s:o}", "id",
			 h->id, "state", kiosk_hold_state_to_string(h->state),
			 "size", kiosk_size_to_string(h->size), "locker",
			 (int)h->locker, "patron",
			 h->patron_name[0] ? h->patron_name : NULL,
			 "expires_at", expires_at[0] ? expires_at : NULL,
			 "reach", h->needs_low ? "low" : NULL, "items", items);
}

/* The barcodes scanned into the return door on RETURN_OPEN. */
static json_t *scanned_json(struct daemon *d)
{
	const struct kiosk_screen_info *screen = kiosk_get_screen(d->kiosk);
	const char(*items)[KIOSK_BARCODE_MAX + 1];
	json_t *a = json_array();
	unsigned n;

	if (!a || !screen->n_lockers)
		return a;
	n = kiosk_get_return_items(d->kiosk, screen->lockers[0], &items);
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

/*
 * The patron's holds on CHOOSE_BOOKS, in the order of its lockers: id,
 * locker, and the books (barcode, title, due) to tick or untick.
 */
static json_t *choice_json(struct daemon *d)
{
	const struct kiosk_screen_info *screen = kiosk_get_screen(d->kiosk);
	struct store_hold *sh = malloc(sizeof(*sh));
	json_t *holds = json_array();

	for (unsigned i = 0; sh && holds && i < screen->n_lockers; i++) {
		struct kiosk_locker_info li;
		json_t *items;

		if (kiosk_get_locker(d->kiosk, screen->lockers[i], &li) < 0 ||
		    !li.hold_id[0] || store_get_hold(d->store, li.hold_id, sh))
			continue;
		items = json_array();
		for (unsigned j = 0; items && j < sh->n_items; j++)
			json_array_append_new(
				items, json_pack("{s:s, s:s, s:s*}", "barcode",
						 sh->items[j].barcode, "title",
						 sh->items[j].title, "due",
						 sh->items[j].due[0] ?
							 sh->items[j].due :
							 NULL));
		json_array_append_new(holds, json_pack("{s:s, s:i, s:o*}", "id",
						       li.hold_id, "locker",
						       (int)li.number, "items",
						       items));
	}
	free(sh);
	return holds ? holds : json_null();
}

/* A help screen's text from [webui], or NULL (null) when not set. */
static const char *help_text(const char *v)
{
	return v[0] ? v : NULL;
}

/* What the screen shows (docs/webui.md): made at every change. */
static json_t *screen_state(void *userdata)
{
	struct daemon *d = userdata;
	bool staff = kiosk_in_staff_session(d->kiosk);
	json_t *lockers = json_array(), *online = json_null(), *holds = NULL;
	json_t *screen, *help;
	const struct kiosk_hold *h;

	for (unsigned i = 1; i <= kiosk_get_n_lockers(d->kiosk); i++) {
		struct kiosk_locker_info li;
		json_t *l;

		kiosk_get_locker(d->kiosk, i, &li);
		l = locker_json(&li);
		json_object_set_new(l, "alarm",
				    json_boolean(li.alarm_left_open ||
						 li.alarm_forced_open));
		json_object_set_new(l, "occupied",
				    json_boolean(li.hold_id[0] || li.returns));
		/* Which hold is where is for staff eyes only. */
		if (staff)
			json_object_set_new(l, "hold",
					    li.hold_id[0] ?
						    json_string(li.hold_id) :
						    json_null());
		json_array_append_new(lockers, l);
	}
	if (d->sync) {
		struct sync_info si;

		sync_get_info(d->sync, &si);
		online = json_boolean(si.online);
	}
	if (staff) {
		struct store_hold *scratch = malloc(sizeof(*scratch));

		holds = json_array();
		for (unsigned i = 0; scratch && i < SCREEN_HOLDS_MAX &&
				     (h = kiosk_get_hold_at(d->kiosk, i));
		     i++)
			json_array_append_new(holds,
					      screen_hold_json(d, h, scratch));
		free(scratch);
	}
	screen = screen_json(kiosk_get_screen(d->kiosk));
	help = json_pack("{s:s?, s:s?, s:s?, s:s?}", "library",
			 help_text(d->config.webui.library_name), "phone",
			 help_text(d->config.webui.help_phone), "whatsapp",
			 help_text(d->config.webui.help_whatsapp), "hours",
			 help_text(d->config.webui.opening_hours));
	/* What the patron is taking, for the screens of the pickup. */
	if (screen && d->session_titles)
		json_object_set(screen, "items", d->session_titles);
	/* The books scanned into the open return door, as the patron sees. */
	if (screen &&
	    kiosk_get_screen(d->kiosk)->screen == KIOSK_SCREEN_RETURN_OPEN)
		json_object_set_new(screen, "scanned", scanned_json(d));
	/* The holds to choose from, each with its books. */
	if (screen &&
	    kiosk_get_screen(d->kiosk)->screen == KIOSK_SCREEN_CHOOSE_BOOKS)
		json_object_set_new(screen, "holds", choice_json(d));
	return json_pack(
		"{s:s, s:b, s:o, s:{s:b}, s:{s:i, s:i}, s:{s:i, s:i}, s:o, s:b, "
		"s:i, s:i, s:I, s:o, s:o, s:o}",
		"kiosk_id", d->config.kiosk_id, "in_service",
		!d->out_of_service, "online", online, "reader", "ok",
		reader_is_ok(d->reader),
		/* The keypads' rule is lokerd's: one rule for every way in. */
		"code_digits", "min", CREDENTIAL_CODE_DIGITS_MIN, "max",
		CREDENTIAL_CODE_DIGITS_MAX, "pin_digits", "min", PIN_DIGITS_MIN,
		"max", PIN_DIGITS_MAX, "help", help, "sim", d->webui_sim,
		"idle_timeout_s", (int)d->config.webui.idle_timeout_s, "volume",
		(int)d->config.webui.volume, "staff_idle_timeout_s",
		(json_int_t)(d->config.kiosk.staff_session_timeout_usec /
			     1000000ULL),
		"screen", screen, "lockers", lockers, "staff",
		staff ? json_pack("{s:o, s:o}", "holds", holds, "refused",
				  refusals_json(d)) :
			json_null());
}

/*
 * Changes when screen_state() may: the core took an input, the store
 * changed (holds, their items, lockers), the server came or went.
 */
static uint64_t screen_generation(void *userdata)
{
	struct daemon *d = userdata;
	bool online = d->sync && sync_is_online(d->sync);

	if (online != d->screen_online) {
		d->screen_online = online;
		d->screen_generation++;
	}
	return d->screen_generation + store_get_generation(d->store);
}

/* A screen action, already checked and made a control request. */
static json_t *screen_command(json_t *request, void *userdata)
{
	return on_request(request, userdata);
}

static const struct webui_ops webui_ops = {
	.state = screen_state,
	.command = screen_command,
	.generation = screen_generation,
};

/* ---- the server's side ---- */

/* The heartbeat: what lokerctl status says, but the screen. */
static json_t *on_sync_status(void *userdata)
{
	json_t *status = cmd_status(userdata);

	/* Events the server took since may be pruned, recorded or not. */
	prune_soon(userdata);

	if (status) {
		struct daemon *d = userdata;
		struct sync_info si;
		time_t now = time(NULL);
		struct tm tm;

		json_object_del(status, "ok");
		json_object_del(status, "metrics");
		json_object_del(status, "screen");
		json_object_del(status, "sync");
		/* v1.1: the kiosk's zone and clock, for the library (point 7). */
		if (d->config.timezone[0])
			json_object_set_new(status, "timezone",
					    json_string(d->config.timezone));
		if (localtime_r(&now, &tm))
			json_object_set_new(status, "utc_offset_s",
					    json_integer(tm.tm_gmtoff));
		sync_get_info(d->sync, &si);
		if (si.has_clock_skew)
			json_object_set_new(status, "clock_skew_ms",
					    json_integer(si.clock_skew_ms));
	}
	return status;
}

/*
 * A command that made no record of its own (or was refused) is recorded
 * as command_done, which is what keeps it from running twice.
 */
static void record_command_done(struct daemon *d,
				const struct protocol_command *c,
				const char *result)
{
	struct kiosk_record rec = { .type = KIOSK_RECORD_COMMAND_DONE,
				    .locker = c->locker };
	char uuid[STORE_UUID_LEN + 1];
	int err;

	/* As the core says it for what a command does: who asked. */
	if (c->by[0])
		snprintf(rec.actor, sizeof(rec.actor), "service:server,by=%s",
			 c->by);
	else
		snprintf(rec.actor, sizeof(rec.actor), "service:server");

	snprintf(rec.command, sizeof(rec.command), "%s", c->id);
	snprintf(rec.result, sizeof(rec.result), "%s", result);
	snprintf(rec.hold_id, sizeof(rec.hold_id), "%s", c->hold_id);
	err = store_record(d->store, &rec, (int64_t)now_usec(CLOCK_REALTIME),
			   uuid);
	if (err < 0 && err != -EALREADY)
		log_err("server command %s: cannot record its result: %s",
			c->id, store_last_error(d->store));
	else if (err == 0)
		sync_kick(d->sync);
}

static const char *command_result(int err)
{
	switch (-err) {
	case 0:
		return "done";
	case EINVAL:
		return "no_such_locker";
	case EBUSY:
		return "busy";
	case EACCES:
		return "disabled";
	case EALREADY:
		return "already";
	case ENOENT:
		return "no_such_hold";
	default:
		return "failed";
	}
}

/*
 * Whether one more remote opening fits in [sync] open_commands_max per
 * open_commands_period_s; forgets the ones older than the period. An
 * opening "in the future" (the clock was set back) counts until it is a
 * period away, so setting the clock back frees no opening early.
 */
static bool open_command_allowed(struct daemon *d, uint64_t now)
{
	uint64_t period =
		(uint64_t)d->config.sync.open_commands_period_s * 1000000ULL;
	unsigned n = 0;

	for (unsigned i = 0; i < d->n_open_commands; i++) {
		uint64_t t = d->open_command_usec[i];

		if (t > now ? t - now < period : now - t < period)
			d->open_command_usec[n++] = t;
	}
	d->n_open_commands = n;
	return n < d->config.sync.open_commands_max && n < OPEN_COMMANDS_MAX;
}

/*
 * The remote openings of the period into the store, so that a restart
 * (or a crash a server provokes) does not give the bound back: the first
 * one's second, then each one's seconds after it. Logged on failure; the
 * opening is done all the same.
 */
static void save_open_commands(struct daemon *d)
{
	char value[1024];
	uint64_t base = UINT64_MAX;
	size_t len;

	for (unsigned i = 0; i < d->n_open_commands; i++)
		if (d->open_command_usec[i] / 1000000 < base)
			base = d->open_command_usec[i] / 1000000;
	if (d->n_open_commands == 0)
		base = 0;
	len = (size_t)snprintf(value, sizeof(value), "%" PRIu64, base);
	/* At most 100 of at most 86400 s after the first: 7 bytes each. */
	for (unsigned i = 0; i < d->n_open_commands && len < sizeof(value); i++)
		len += (size_t)snprintf(
			value + len, sizeof(value) - len, ",%" PRIu64,
			d->open_command_usec[i] / 1000000 - base);
	if (store_set_sync_value(d->store, "open_commands", value) < 0)
		log_err("cannot keep the count of remote openings: %s",
			store_last_error(d->store));
}

/* save_open_commands()'s record back; a value it cannot read is ignored. */
static void load_open_commands(struct daemon *d)
{
	char value[1100], *p, *end;
	unsigned long long base, off;

	d->n_open_commands = 0;
	if (store_get_sync_value(d->store, "open_commands", value,
				 sizeof(value)) < 0)
		return;
	errno = 0;
	base = strtoull(value, &end, 10);
	if (errno || end == value)
		return;
	for (p = end; *p == ',' && d->n_open_commands < OPEN_COMMANDS_MAX;
	     p = end) {
		errno = 0;
		off = strtoull(p + 1, &end, 10);
		if (errno || end == p + 1 || off > 86400)
			break;
		d->open_command_usec[d->n_open_commands++] =
			(uint64_t)(base + off) * 1000000ULL;
	}
	if (d->n_open_commands)
		log_info(
			"%u remote openings in the last %u s, from before the start",
			d->n_open_commands,
			d->config.sync.open_commands_period_s);
}

static void on_sync_command(const struct protocol_command *c, void *userdata)
{
	struct daemon *d = userdata;
	char actor[KIOSK_ACTOR_MAX + 1];
	struct kiosk_input in = { .service = true,
				  .locker = c->locker,
				  .command = c->id,
				  .actor = actor };
	/* Wall time: the bound outlives a restart (save_open_commands()). */
	uint64_t now = now_usec(CLOCK_REALTIME);
	const char *reason = c->reason[0] ? c->reason : "no reason given";
	int err, record_err = 0;

	/* A door that opens hours after staff asked is a risk (issue 20). */
	if (c->expired) {
		log_notice(
			"server command %s expired before it reached the kiosk: not carried out",
			c->id);
		record_command_done(d, c, "expired");
		sync_status_soon(d->sync);
		return;
	}
	/* Recorded as "service:server,by=<the server's user>". */
	if (c->by[0])
		snprintf(actor, sizeof(actor), "server,by=%s", c->by);
	else
		snprintf(actor, sizeof(actor), "server");
	switch (c->type) {
	case PROTOCOL_COMMAND_OPEN_LOCKER:
		/* A server, rogue or misused, must not open every door. */
		if (!open_command_allowed(d, now)) {
			log_warning(
				"server command %s: open locker %u refused: %u remote openings in the last %u s already ([sync] open_commands_max)",
				c->id, c->locker, d->n_open_commands,
				d->config.sync.open_commands_period_s);
			record_command_done(d, c, "rate_limited");
			sync_status_soon(d->sync);
			return;
		}
		in.type = KIOSK_INPUT_OPEN;
		break;
	case PROTOCOL_COMMAND_DISABLE_LOCKER:
		in.type = KIOSK_INPUT_DISABLE;
		break;
	case PROTOCOL_COMMAND_ENABLE_LOCKER:
		in.type = KIOSK_INPUT_ENABLE;
		break;
	case PROTOCOL_COMMAND_UNLOAD_HOLD: {
		const struct kiosk_hold *h =
			kiosk_get_hold(d->kiosk, c->hold_id);

		/* Staff take it out at their next visit; the server said so. */
		if (h && h->locker)
			log_notice(
				"server command %s: staff are asked to unload hold %s from locker %u (%s)",
				c->id, c->hold_id, h->locker, reason);
		else
			log_notice(
				"server command %s: hold %s is in no locker here",
				c->id, c->hold_id);
		record_command_done(d, c,
				    !h	      ? "no_such_hold" :
				    h->locker ? "done" :
						"not_in_locker");
		sync_status_soon(d->sync);
		return;
	}
	case PROTOCOL_COMMAND_SYNC_NOW:
		log_info("server command %s: sync now", c->id);
		record_command_done(d, c, "done");
		sync_now(d->sync);
		return;
	case PROTOCOL_COMMAND_RESEND_EVENTS: {
		bool pruned = false;

		/* A server restored from a backup, or a refusal undone. */
		log_notice(
			"server command %s: send the events from %lld again (%s)",
			c->id, (long long)c->from_seq, reason);
		err = sync_resend_from(d->sync, c->from_seq, &pruned);
		record_command_done(d, c,
				    err < 0 ? "failed" :
				    pruned  ? "pruned" :
					      "done");
		sync_status_soon(d->sync);
		return;
	}
	case PROTOCOL_COMMAND_UNKNOWN:
		log_warning(
			"server command %s: of a type this kiosk does not know; acknowledged, not carried out",
			c->id);
		record_command_done(d, c, "unknown_type");
		sync_status_soon(d->sync);
		return;
	}
	log_notice("server command %s: %s locker %u (%s; asked by %s)", c->id,
		   in.type == KIOSK_INPUT_OPEN	  ? "open" :
		   in.type == KIOSK_INPUT_DISABLE ? "disable" :
						    "enable",
		   c->locker, reason, c->by[0] ? c->by : "the server");
	err = feed_undoable(d, &in, &record_err);
	if (record_err < 0)
		return; /* not durable, so not done: the server sends it again */
	if (err == 0 && in.type == KIOSK_INPUT_OPEN &&
	    d->n_open_commands < OPEN_COMMANDS_MAX) {
		d->open_command_usec[d->n_open_commands++] = now;
		save_open_commands(d);
	}
	if (err < 0)
		log_warning("server command %s: refused: %s", c->id,
			    strerror(-err));
	/* A refusal, or an input that needed no record, is done all the same. */
	if (store_command_is_done(d->store, c->id) == 0)
		record_command_done(d, c, command_result(err));
	sync_status_soon(d->sync);
}

static const struct sync_ops sync_ops = {
	.status = on_sync_status,
	.command = on_sync_command,
};

/* ---- metrics ---- */

static int take_at(const struct store_event *e, void *userdata)
{
	*(int64_t *)userdata = e->at_usec;
	return 0;
}

/* What a scrape says: lokerctl status's facts, as numbers. */
static void metrics_snapshot(struct metrics_snapshot *ret, void *userdata)
{
	struct daemon *d = userdata;
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	*ret = (struct metrics_snapshot){
		.version = LOKERBUKU_VERSION,
		.kiosk_id = d->config.kiosk_id,
		.now_usec = (int64_t)now_usec(CLOCK_REALTIME),
		.started_usec = d->started_wall_usec,
		.uptime_usec = now - d->started_usec,
		.in_service = !d->out_of_service,
		.reader_up = reader_is_ok(d->reader),
		.lockbank_up = !lockbank_get_fault(d->lockbank),
		.has_scanner = d->scanner != NULL,
		.scanner_up = d->scanner && reader_is_ok(d->scanner),
		.has_sync = d->sync != NULL,
		.n_lockers = kiosk_get_n_lockers(d->kiosk),
		.lockers = d->metrics_lockers,
		.counters = d->counters,
	};
	store_count_unsent(d->store, &ret->outbox_unsent);
	if (ret->outbox_unsent)
		store_foreach_unsent(d->store, 1, take_at,
				     &ret->oldest_unsent_at_usec);
	if (d->sync) {
		struct sync_info si;

		sync_get_info(d->sync, &si);
		ret->sync_up = si.online;
		ret->sync_last_ok_usec = si.last_ok_usec;
		ret->sync_last_request_usec = si.last_request_usec;
		ret->sync_requests = si.requests;
		ret->sync_failures = si.failures;
		ret->sync_rejected_events = si.rejected_events;
		ret->sync_refused_events = si.refused_events;
	}
	for (unsigned i = 0; i < ret->n_lockers; i++) {
		struct kiosk_locker_info li;

		kiosk_get_locker(d->kiosk, i + 1, &li);
		d->metrics_lockers[i] = (struct metrics_locker){
			.number = li.number,
			.door_open = li.door_open,
			.disabled = li.disabled,
			.occupied = li.hold_id[0] || li.returns,
			.alarm_left_open = li.alarm_left_open,
			.alarm_forced_open = li.alarm_forced_open,
			.door_state = li.door_state,
			.fault = li.fault,
		};
	}
}

static const struct metrics_ops metrics_ops = {
	.snapshot = metrics_snapshot,
};

/* ---- life cycle ---- */

static struct lockbank_gpiod_line gpiod_line(const struct config_gpio_line *l)
{
	return (struct lockbank_gpiod_line){
		.name = l->name[0] ? l->name : NULL,
		.offset = l->offset,
		.chip = l->chip,
	};
}

static struct lockbank *new_modbus_bank(const struct config *c)
{
	struct lockbank_modbus_locker lockers[KIOSK_LOCKERS_MAX];
	struct lockbank_modbus_config m = {
		.device = c->modbus.device,
		.baud = c->modbus.baud,
		.parity = c->modbus.parity,
		.data_bits = c->modbus.data_bits,
		.stop_bits = c->modbus.stop_bits,
		.slave = c->modbus.slave,
		.poll_ms = c->modbus.poll_ms,
		.timeout_ms = c->modbus.timeout_ms,
		.n_lockers = c->kiosk.n_lockers,
		.lockers = lockers,
		.door_active_low = c->door_active_low,
		.item_active_low = c->item_active_low,
	};
	struct lockbank *lb;

	for (unsigned i = 0; i < m.n_lockers; i++)
		lockers[i] = (struct lockbank_modbus_locker){
			.coil = c->lock_lines[i].offset,
			.door = c->door_lines[i].offset,
			.has_item = c->item_lines[i].line != 0,
			.item = c->item_lines[i].offset,
		};
	lb = lockbank_new_modbus(&m);
	if (!lb)
		log_err("lock bank: %s", lockbank_last_error());
	return lb;
}

/* The configured lock bank, or NULL with errno set and the reason logged. */
static struct lockbank *new_lockbank(const struct config *c)
{
	unsigned n = c->kiosk.n_lockers;
	struct lockbank_gpiod_locker lockers[KIOSK_LOCKERS_MAX];
	const char *more_chips[LOCKBANK_GPIOD_CHIPS_MAX - 1];
	struct lockbank_gpiod_config g = {
		.chip_path = c->lockbank_chip,
		.more_chips = more_chips,
		.n_more_chips = c->lockbank_n_more_chips,
		.n_lockers = n,
		.lockers = lockers,
		.lock_active_low = c->lock_active_low,
		.door_bias = c->door_bias,
		.door_active_low = c->door_active_low,
		.door_debounce_us = c->door_debounce_ms * 1000,
		.item_bias = c->item_bias,
		.item_active_low = c->item_active_low,
	};
	struct lockbank *lb;

	switch (c->lockbank_backend) {
	case CONFIG_BACKEND_SIM:
		lb = lockbank_new_sim(n);
		if (!lb)
			log_err("lock bank: %s", strerror(errno));
		return lb;
	case CONFIG_BACKEND_GPIOD:
		break;
	case CONFIG_BACKEND_MODBUS:
		return new_modbus_bank(c);
	case CONFIG_BACKEND_NFC:
		errno = EINVAL;
		return NULL;
	}
	for (unsigned k = 0; k < c->lockbank_n_more_chips; k++)
		more_chips[k] = c->lockbank_more_chips[k].spec;
	for (unsigned i = 0; i < n; i++)
		lockers[i] = (struct lockbank_gpiod_locker){
			.lock = gpiod_line(&c->lock_lines[i]),
			.door = gpiod_line(&c->door_lines[i]),
			.has_item = c->item_lines[i].line != 0,
			.item = gpiod_line(&c->item_lines[i]),
		};
	lb = lockbank_new_gpiod(&g);
	if (!lb)
		log_err("lock bank: %s", lockbank_last_error());
	return lb;
}

struct daemon *daemon_new(const struct config *config, sd_event *event)
{
	struct store_options opt = {
		.max_unsent = config->outbox_max_unsent,
		.sent_keep_usec = (int64_t)config->outbox_keep_sent_days *
				  86400LL * 1000000LL,
		.finished_keep_usec = (int64_t)config->keep_finished_days *
				      86400LL * 1000000LL,
		.quick_check = true,
	};
	unsigned n = config->kiosk.n_lockers;
	struct daemon *d;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->config = *config;
	/* Local times (expiries on the screen, logs) in the kiosk's zone. */
	if (d->config.timezone[0]) {
		char tz[CONFIG_TIMEZONE_MAX + 2];

		snprintf(tz, sizeof(tz), ":%s", d->config.timezone);
		setenv("TZ", tz, 1);
		tzset();
	}
	d->config.kiosk.lockers = d->config.lockers;
	d->config.kiosk.site_key = d->config.site_key;
	d->event = sd_event_ref(event);
	d->started_usec = now_usec(CLOCK_MONOTONIC);
	d->started_wall_usec = (int64_t)now_usec(CLOCK_REALTIME);
	d->n_timers = 2 + 2 * n;
	d->timers = calloc(d->n_timers, sizeof(*d->timers));
	d->pulses = calloc(n, sizeof(*d->pulses));
	d->actions = calloc(1, sizeof(*d->actions));
	d->metrics_lockers = calloc(n, sizeof(*d->metrics_lockers));
	if (!d->timers || !d->pulses || !d->actions || !d->metrics_lockers) {
		err = -ENOMEM;
		log_err("out of memory");
		goto fail;
	}
	d->timers[0].timer.kind = KIOSK_TIMER_KIND_SESSION;
	d->timers[1].timer.kind = KIOSK_TIMER_KIND_EXPIRY_SWEEP;
	for (unsigned i = 0; i < n; i++) {
		d->timers[2 + i].timer =
			(struct kiosk_timer){ KIOSK_TIMER_KIND_DOOR_CONFIRM,
					      i + 1 };
		d->timers[2 + n + i].timer =
			(struct kiosk_timer){ KIOSK_TIMER_KIND_DOOR_LEFT_OPEN,
					      i + 1 };
		d->pulses[i] =
			(struct pulse_slot){ .daemon = d, .locker = i + 1 };
	}
	for (unsigned i = 0; i < d->n_timers; i++)
		d->timers[i].daemon = d;

	/* Locks first: whatever happens next, every lock is driven locked. */
	d->lockbank = new_lockbank(config);
	if (!d->lockbank) {
		err = -errno;
		goto fail;
	}
	switch (config->reader_backend) {
	case CONFIG_BACKEND_SIM:
		d->reader = reader_new_sim();
		break;
	case CONFIG_BACKEND_NFC:
		d->reader = reader_new_nfc(config->reader_connstring,
					   config->reader_poll_ms);
		break;
	case CONFIG_BACKEND_GPIOD: /* refused by config_load() */
	case CONFIG_BACKEND_MODBUS:
		errno = EINVAL;
		break;
	}
	if (!d->reader) {
		err = -errno;
		log_err("card reader: %s", strerror(-err));
		goto fail;
	}
	if (config->scanner_device[0]) {
		/* A scanner unplugged at start is reported and waited for. */
		d->scanner = reader_new_evdev(config->scanner_device);
		if (!d->scanner) {
			err = -errno;
			log_err("barcode scanner %s: %s",
				config->scanner_device, strerror(-err));
			goto fail;
		}
	}
	err = refuse_interrupted_recover(config->database);
	if (err < 0)
		goto fail;
	d->store = store_open(config->database, &opt);
	if (!d->store) {
		err = -errno;
		log_database_refused(config->database);
		goto fail;
	}
	err = store_ensure_lockers(d->store, n);
	if (err < 0) {
		log_err("database %s: %s (%s)", config->database,
			strerror(-err), store_last_error(d->store));
		goto fail;
	}
	/* Below everything else: a pruning step runs when nothing waits. */
	err = sd_event_add_defer(event, &d->prune_source, on_prune, d);
	if (err >= 0)
		err = sd_event_source_set_priority(d->prune_source,
						   SD_EVENT_PRIORITY_IDLE);
	if (err >= 0)
		err = sd_event_source_set_enabled(d->prune_source,
						  SD_EVENT_OFF);
	if (err >= 0) {
		prune_soon(d);
		err = sd_event_add_io(event, &d->reader_source,
				      reader_get_fd(d->reader), EPOLLIN,
				      on_reader, d);
	}
	if (err >= 0)
		err = sd_event_add_io(event, &d->lockbank_source,
				      lockbank_get_fd(d->lockbank), EPOLLIN,
				      on_lockbank, d);
	if (err >= 0 && d->scanner)
		err = sd_event_add_io(event, &d->scanner_source,
				      reader_get_fd(d->scanner), EPOLLIN,
				      on_scanner, d);
	if (err < 0) {
		log_err("event loop: %s", strerror(-err));
		goto fail;
	}
	d->control = control_new(event, config->control_socket, on_request, d);
	if (!d->control) {
		err = -errno;
		log_err("control socket %s: %s", config->control_socket,
			strerror(-err));
		goto fail;
	}
	d->pincheck = pincheck_new();
	if (!d->pincheck) {
		err = -errno;
		log_err("PIN check thread: %s", strerror(-err));
		goto fail;
	}
	err = sd_event_add_io(event, &d->pincheck_source,
			      pincheck_get_fd(d->pincheck), EPOLLIN,
			      on_pin_checked, d);
	if (err < 0) {
		log_err("event loop: %s", strerror(-err));
		goto fail;
	}
	err = start_core(d);
	if (err < 0)
		goto fail;
	if (config->sync.url[0]) {
		d->sync = sync_new(&d->config, event, d->store, d->kiosk,
				   &sync_ops, d);
		if (!d->sync) {
			err = -errno;
			log_err("sync: %s", strerror(-err));
			goto fail;
		}
	}
	d->webui_sim = config->reader_backend == CONFIG_BACKEND_SIM ||
		       config->lockbank_backend == CONFIG_BACKEND_SIM;
	if (config->webui.address[0]) {
		struct webui_config wc = {
			.address = config->webui.address,
			.port = config->webui.port,
			.ui_dir = config->webui.ui_dir,
			.sim = d->webui_sim,
			.screen_user = config->webui.screen_user,
		};

		d->webui = webui_new(event, &wc, &webui_ops, d);
		if (!d->webui) {
			err = -errno; /* logged */
			goto fail;
		}
	}
	if (config->metrics.address[0]) {
		struct metrics_config mc = {
			.address = config->metrics.address,
			.port = config->metrics.port,
			.token = config->metrics.token[0] ?
					 config->metrics.token :
					 NULL,
		};

		d->metrics = metrics_new(event, &mc, &metrics_ops, d);
		if (!d->metrics) {
			err = -errno; /* logged */
			goto fail;
		}
	}
	log_notice("kiosk %s: %u lockers, reader %s, lock bank %s, database %s",
		   config->kiosk_id, n, reader_get_backend(d->reader),
		   lockbank_get_backend(d->lockbank), config->database);
	return d;
fail:
	daemon_free(d);
	errno = -err;
	return NULL;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	/* A backup or check under way is stopped; its client is dropped. */
	control_reply_send(d->job_reply, NULL);
	control_reply_send(d->pin_reply, NULL);
	job_end(d);
	checkpoint_end(d);
	sd_event_source_disable_unref(d->prune_source);
	webui_free(d->webui);
	metrics_free(d->metrics);
	json_decref(d->session_titles);
	control_free(d->control);
	sync_free(d->sync);
	for (unsigned i = 0; d->timers && i < d->n_timers; i++)
		sd_event_source_disable_unref(d->timers[i].source);
	for (unsigned i = 0; d->pulses && i < d->config.kiosk.n_lockers; i++)
		sd_event_source_disable_unref(d->pulses[i].source);
	sd_event_source_disable_unref(d->reader_source);
	sd_event_source_disable_unref(d->scanner_source);
	sd_event_source_disable_unref(d->lockbank_source);
	sd_event_source_disable_unref(d->pincheck_source);
	pincheck_free(d->pincheck);
	/* lockbank_free() drives every lock to its locked value. */
	lockbank_free(d->lockbank);
	reader_free(d->reader);
	reader_free(d->scanner);
	kiosk_free(d->kiosk);
	store_free(d->store);
	sd_event_unref(d->event);
	free(d->actions);
	free(d->timers);
	free(d->pulses);
	free(d->metrics_lockers);
	explicit_bzero(d->config.site_key, sizeof(d->config.site_key));
	explicit_bzero(d->config.sync.token, sizeof(d->config.sync.token));
	explicit_bzero(d->config.metrics.token,
		       sizeof(d->config.metrics.token));
	free(d);
}

/* How long the thread of fd's schedstat has waited for a core, or 0. */
static uint64_t queued_usec(int fd)
{
	char buf[96];
	unsigned long long run, queued;
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", &run, &queued) == 2 ? queued / 1000 : 0;
}

int daemon_run(struct daemon *d)
{
	/* This thread's, read through the fd by the loop alone. */
	int sched = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	int r = 0, code = 0;

	/* sd_event_loop(), timing each callback (one per dispatch). */
	while (sd_event_get_state(d->event) != SD_EVENT_FINISHED) {
		r = sd_event_prepare(d->event);
		if (r == 0)
			r = sd_event_wait(d->event, UINT64_MAX);
		if (r > 0) {
			uint64_t start = now_usec(CLOCK_MONOTONIC), took;
			uint64_t cpu = now_usec(CLOCK_THREAD_CPUTIME_ID);
			uint64_t queued = queued_usec(sched), own;

			r = sd_event_dispatch(d->event);
			took = now_usec(CLOCK_MONOTONIC) - start;
			cpu = now_usec(CLOCK_THREAD_CPUTIME_ID) - cpu;
			queued = queued_usec(sched) - queued;
			own = took > queued ? took - queued : 0;
			d->loop.callbacks++;
			if (took > d->loop.longest_usec)
				d->loop.longest_usec = took;
			if (cpu > d->loop.longest_cpu_usec)
				d->loop.longest_cpu_usec = cpu;
			if (own > d->loop.longest_own_usec)
				d->loop.longest_own_usec = own;
		}
		if (r < 0)
			break;
	}
	if (sched >= 0)
		close(sched);
	if (r < 0)
		return r;
	r = sd_event_get_exit_code(d->event, &code);
	return r < 0 ? r : code;
}
