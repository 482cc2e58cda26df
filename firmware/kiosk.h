/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kiosk core: who may open which door, and what every door is doing.
 *
 * Pure: it takes inputs (a card, a PIN, a door edge, a timer, a staff
 * command) and returns actions (record an event, pulse a lock, arm a timer,
 * show a screen). It never touches fds, clocks, SQLite or the network; the
 * caller stamps every input with the time and carries out the actions in
 * order. A RECORD action must be made durable before any action after it is
 * carried out: if it cannot be, the caller drops the rest of the batch and
 * rebuilds the core from the store.
 *
 * Lockers are numbered from 1, as printed on their doors.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credential.h"

#define KIOSK_LOCKERS_MAX	   128
#define KIOSK_HOLD_ID_MAX	   63 /* characters, not counting the NUL */
#define KIOSK_HOLD_CREDENTIALS_MAX 4
#define KIOSK_NAME_MAX		   47 /* patron first name, bytes */
#define KIOSK_SESSION_LOCKERS_MAX  16 /* doors one patron session may open */
#define KIOSK_ACTOR_MAX		   79
#define KIOSK_STAFF_MAX		   256 /* staff credentials kept */
#define KIOSK_COMMAND_ID_MAX	   63  /* a server command's id */
#define KIOSK_RESULT_MAX	   31
/* Books scanned into one return opening, and a barcode's length. */
#define KIOSK_RETURN_ITEMS_MAX 16
#define KIOSK_BARCODE_MAX      63
/* Books of one hold (the sync API's limit). */
#define KIOSK_HOLD_ITEMS_MAX 16
/* A finished session shows its last screen this long, then idle. */
#define KIOSK_DONE_SCREEN_USEC (8ULL * 1000000ULL)
/* How often loaded holds are checked for expiry. */
#define KIOSK_EXPIRY_SWEEP_USEC (60ULL * 1000000ULL)
/*
 * Distinct PIN hashes tried for one PIN typed by a patron. The holds of one
 * patron share one hash; more mean bad data, and each try costs a PBKDF2
 * run, so the PIN counts as wrong for the rest.
 */
#define KIOSK_PIN_HASHES_TRIED_MAX 2
/*
 * The guessing defence (docs/security.md, "Guessing"). Its state is kept
 * in the store (KIOSK_ACTION_GUARD), so a restart or a power cut does not
 * reset it, and its deadlines are on CLOCK_REALTIME for the same reason.
 *
 * Pickup codes, kiosk-wide: a budget of KIOSK_CODE_GUESS_BURST unknown
 * codes, given back one every KIOSK_CODE_GUESS_INTERVAL_USEC. A code that
 * matches no hold spends one; with none left every code is refused
 * unmatched (screen LOCKED_OUT) until the next one comes back. Cards are
 * always matched: a flood of bogus codes slows code entry only, and a
 * known card still opens (behind its PIN under pin_required).
 *
 * PINs: wrong PINs are counted on the holds the patron's credential
 * matched (every credential of a hold counts on the same hold), and on a
 * staff card. pin_max_attempts of them lock the PIN path of those holds
 * (or that staff card) for pin_lockout_usec (a staff card's also ends
 * with a new PIN from the server). A right PIN starts the count again.
 */
#define KIOSK_CODE_GUESS_BURST	       5
#define KIOSK_CODE_GUESS_INTERVAL_USEC (30ULL * 60ULL * 1000000ULL)
/* Unlock attempts per opening: the first pulse and one retry. */
#define KIOSK_UNLOCK_ATTEMPTS 2
/*
 * Room for the actions of any one input: an expiry record, an interrupted
 * opening's fault record and a door timer for every locker (START), or four
 * actions for each door a patron session opens, plus a few for screens and
 * session timers.
 */
#define KIOSK_ACTIONS_MAX \
	(3 * KIOSK_LOCKERS_MAX + 4 * KIOSK_SESSION_LOCKERS_MAX + 8)

enum kiosk_size {
	KIOSK_SIZE_SMALL,
	KIOSK_SIZE_MEDIUM,
	KIOSK_SIZE_LARGE,
};

enum kiosk_locker_kind {
	KIOSK_LOCKER_KIND_HOLD,	  /* holds are loaded here for pickup */
	KIOSK_LOCKER_KIND_RETURN, /* patrons drop returned books here */
};

struct kiosk_locker_config {
	enum kiosk_size size;
	enum kiosk_locker_kind kind;
	uint32_t pulse_ms; /* lock pulse length, 1..10000 */
	bool low;	   /* within reach from a wheelchair or of a child */
};

struct kiosk_config {
	const uint8_t *site_key; /* copied */
	size_t site_key_len;
	unsigned n_lockers;			   /* 1..KIOSK_LOCKERS_MAX */
	const struct kiosk_locker_config *lockers; /* [0] is locker 1; copied */
	bool pin_required; /* card credentials need a PIN (codes never) */
	unsigned pin_max_attempts; /* failures before lock-out, >= 1 */
	uint64_t pin_lockout_usec;
	uint64_t session_timeout_usec;	     /* patron inactivity */
	uint64_t staff_session_timeout_usec; /* staff inactivity */
	uint64_t door_confirm_timeout_usec;  /* pulse -> door seen open */
	uint64_t door_left_open_usec;	     /* open -> alarm */
	unsigned max_holds;		     /* holds kept in memory, >= 1 */
};

enum kiosk_hold_state {
	KIOSK_HOLD_STATE_PENDING,   /* routed here, not loaded yet */
	KIOSK_HOLD_STATE_LOADED,    /* in a locker, waiting for the patron */
	KIOSK_HOLD_STATE_EXPIRED,   /* still in its locker, past expiry */
	KIOSK_HOLD_STATE_PICKED_UP, /* final */
	KIOSK_HOLD_STATE_UNLOADED,  /* final: staff took it back out */
};

struct kiosk_hold {
	char id[KIOSK_HOLD_ID_MAX + 1];
	enum kiosk_hold_state state;
	unsigned locker;      /* 0 unless LOADED or EXPIRED */
	enum kiosk_size size; /* smallest compartment it fits in */
	char patron_name[KIOSK_NAME_MAX + 1]; /* first name or "" */
	unsigned n_credentials;
	char credential_hmacs[KIOSK_HOLD_CREDENTIALS_MAX]
			     [CREDENTIAL_HMAC_HEX_LEN + 1];
	char code_hmac[CREDENTIAL_HMAC_HEX_LEN + 1]; /* "" when none */
	char pin_hash[PIN_HASH_MAX + 1]; /* patron PIN, "" when none */
	int64_t loaded_at_usec;		 /* CLOCK_REALTIME, 0 when not loaded */
	int64_t expires_at_usec;	 /* CLOCK_REALTIME, 0 = never */
	/* The patron needs a low locker (the server's reach "low"). */
	bool needs_low;
	/*
	 * Books in it, 0 when not known: a hold of two or more is one the
	 * patron may take in part (kiosk_set_partial_pickup()).
	 */
	unsigned n_items;
	/* Wrong PINs counted on this hold, and its PIN lock-out's end
	 * (CLOCK_REALTIME, 0: none): kiosk_set_guard() sets them. */
	unsigned pin_failures;
	int64_t pin_locked_until_usec;
};

enum kiosk_staff_role {
	KIOSK_STAFF_ROLE_STAFF, /* load, unload, open, disable, enable */
	KIOSK_STAFF_ROLE_ADMIN, /* the same, for now */
};

struct kiosk_staff {
	char credential_hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	char pin_hash[PIN_HASH_MAX + 1];
	enum kiosk_staff_role role;
	/* As on a hold; kiosk_put_staff() keeps them unless the PIN changed. */
	unsigned pin_failures;
	int64_t pin_locked_until_usec;
};

/* One piece of the guessing defence's state, to keep across restarts. */
enum kiosk_guard_kind {
	KIOSK_GUARD_KIND_CODES, /* the pickup code budget; key "" */
	KIOSK_GUARD_KIND_HOLD,	/* wrong PINs on a hold; key its id */
	KIOSK_GUARD_KIND_STAFF, /* wrong PINs on a staff card; key its HMAC */
};

struct kiosk_guard {
	enum kiosk_guard_kind kind;
	char key[CREDENTIAL_HMAC_HEX_LEN + 1];
	unsigned failures; /* wrong PINs since the last lock-out; CODES: 0 */
	/*
	 * CLOCK_REALTIME. HOLD, STAFF: the lock-out's end, 0 for none.
	 * CODES: when the budget is whole again (each unknown code moves it
	 * KIOSK_CODE_GUESS_INTERVAL_USEC later), 0 for whole.
	 */
	int64_t until_usec;
};

enum kiosk_fault {
	KIOSK_FAULT_NONE,
	KIOSK_FAULT_NOT_OPENED, /* pulsed KIOSK_UNLOCK_ATTEMPTS times, no opening */
	/*
	 * An opening was under way when lokerd stopped (crash, power cut):
	 * nobody knows what is in the locker now. Staff check it and enable.
	 */
	KIOSK_FAULT_INTERRUPTED,
};

/* What the door supervisor of one locker is doing. */
enum kiosk_door_state {
	KIOSK_DOOR_STATE_CLOSED,    /* closed and locked, nothing expected */
	KIOSK_DOOR_STATE_UNLOCKING, /* pulsed, waiting to see it open */
	KIOSK_DOOR_STATE_OPEN,	    /* open after an unlock */
	KIOSK_DOOR_STATE_FORCED,    /* open without an unlock */
};

/* Why a lock was pulsed; also what a door's opening is for. */
enum kiosk_purpose {
	KIOSK_PURPOSE_NONE,
	KIOSK_PURPOSE_PICKUP,
	KIOSK_PURPOSE_LOAD,
	KIOSK_PURPOSE_UNLOAD,
	KIOSK_PURPOSE_RETURN,
	KIOSK_PURPOSE_MAINTENANCE,
};

struct kiosk_locker_info {
	unsigned number;
	enum kiosk_size size;
	enum kiosk_locker_kind kind;
	bool disabled;
	enum kiosk_fault fault;
	bool door_open; /* last sensor reading */
	enum kiosk_door_state door_state;
	enum kiosk_purpose purpose; /* of the opening under way */
	bool alarm_left_open;
	bool alarm_forced_open;
	char hold_id[KIOSK_HOLD_ID_MAX + 1]; /* LOADED/EXPIRED hold, or "" */
	unsigned returns; /* return deposits not yet collected */
};

/* A locker's persistent state, as the store keeps it, to rebuild a core. */
struct kiosk_locker_state {
	bool disabled;
	enum kiosk_fault fault;
	unsigned returns;
	/*
	 * The opening that was under way when the state was saved (its
	 * LOCKER_UNLOCKED recorded, its outcome not): START records a
	 * LOCKER_FAULT (INTERRUPTED) for it, with the hold loaded in the
	 * locker if any (none for a LOAD: the store does not say which hold,
	 * and it is not in the locker yet), and the locker is faulted.
	 * MAINTENANCE counts as NONE: it changes no contents, and the store
	 * never saves it.
	 */
	enum kiosk_purpose opening;
};

enum kiosk_record_type {
	KIOSK_RECORD_LOCKER_UNLOCKED,  /* every pulse: purpose, attempt */
	KIOSK_RECORD_HOLD_LOADED,      /* load door closed: hold, locker */
	KIOSK_RECORD_HOLD_PICKED_UP,   /* pickup door seen open */
	KIOSK_RECORD_HOLD_EXPIRED,     /* loaded hold passed its expiry */
	KIOSK_RECORD_HOLD_UNLOADED,    /* unload door seen open */
	KIOSK_RECORD_RETURN_DEPOSITED, /* return door closed: locker, actor */
	KIOSK_RECORD_RETURNS_COLLECTED, /* maintenance on a return locker closed */
	KIOSK_RECORD_LOCKER_FAULT,	/* fault: not_opened, interrupted */
	KIOSK_RECORD_LOCKER_DISABLED,
	KIOSK_RECORD_LOCKER_ENABLED,   /* also clears a fault */
	KIOSK_RECORD_DOOR_FORCED_OPEN, /* opened without an unlock: alarm */
	KIOSK_RECORD_DOOR_LEFT_OPEN,   /* open too long: alarm */
	KIOSK_RECORD_DOOR_CLOSED,      /* closed after an alarm */
	KIOSK_RECORD_PIN_LOCKOUT,      /* too many wrong PINs: actor */
	/*
	 * A server command that made no record of its own (sync_now,
	 * unload_hold, a type unknown here) or was refused: .command,
	 * .result, and .locker/.hold_id when it named one. Made by the
	 * daemon, never by the core.
	 */
	KIOSK_RECORD_COMMAND_DONE,
};

/* An event for the outbox, and the state change the store applies with it. */
struct kiosk_record {
	enum kiosk_record_type type;
	char hold_id[KIOSK_HOLD_ID_MAX + 1]; /* "" when none */
	unsigned locker;		     /* 0 when none */
	enum kiosk_purpose purpose;	     /* LOCKER_UNLOCKED */
	unsigned attempt;		     /* LOCKER_UNLOCKED: 1 or 2 */
	enum kiosk_fault fault;		     /* LOCKER_FAULT */
	/* "patron:<hmac>", "staff:<hmac>", "service", or "" */
	char actor[KIOSK_ACTOR_MAX + 1];
	/* The server command this record carries out, or "". */
	char command[KIOSK_COMMAND_ID_MAX + 1];
	/* COMMAND_DONE: "done", or why not ("busy", "no_such_locker"...). */
	char result[KIOSK_RESULT_MAX + 1];
	/*
	 * RETURN_DEPOSITED: the barcodes scanned while its door was open, in
	 * the core's keeping until that locker's next return opening.
	 */
	const char (*items)[KIOSK_BARCODE_MAX + 1];
	unsigned n_items;
	/*
	 * HOLD_PICKED_UP of a partial pickup (v1.1): the books the patron
	 * left in the locker, n_left > 0; the hold stays LOADED with them.
	 * In the core's keeping until the locker's next opening.
	 */
	const char (*left)[KIOSK_BARCODE_MAX + 1];
	unsigned n_left;
};

enum kiosk_timer_kind {
	KIOSK_TIMER_KIND_SESSION,      /* locker is 0 */
	KIOSK_TIMER_KIND_EXPIRY_SWEEP, /* locker is 0 */
	KIOSK_TIMER_KIND_DOOR_CONFIRM,
	KIOSK_TIMER_KIND_DOOR_LEFT_OPEN,
};

struct kiosk_timer {
	enum kiosk_timer_kind kind;
	unsigned locker;
};

enum kiosk_screen {
	KIOSK_SCREEN_IDLE,	      /* "Tempelkan kartu anggota" */
	KIOSK_SCREEN_PIN,	      /* patron PIN keypad; attempts_left */
	KIOSK_SCREEN_WRONG_PIN,	      /* attempts_left */
	KIOSK_SCREEN_LOCKED_OUT,      /* too many wrong PINs or unknown codes */
	KIOSK_SCREEN_UNKNOWN_CARD,    /* no hold or staff knows it */
	KIOSK_SCREEN_NO_HOLDS,	      /* known patron, nothing ready */
	KIOSK_SCREEN_PIN_NOT_SET,     /* PIN required, none on file */
	KIOSK_SCREEN_LOCKERS_OPEN,    /* lockers[]: take your books */
	KIOSK_SCREEN_LOCKER_FAULT,    /* lockers[]: these did not open */
	KIOSK_SCREEN_CLOSE_DOOR,      /* lockers[]: still open */
	KIOSK_SCREEN_THANK_YOU,	      /* session done */
	KIOSK_SCREEN_STAFF_PIN,	      /* staff PIN keypad; attempts_left */
	KIOSK_SCREEN_STAFF_MENU,      /* staff session open */
	KIOSK_SCREEN_RETURN_IDENTIFY, /* "tap your card to return books" */
	KIOSK_SCREEN_RETURN_OPEN,     /* lockers[0]: put the books in */
	KIOSK_SCREEN_RETURN_FULL,     /* no empty return compartment */
	KIOSK_SCREEN_BAD_CREDENTIAL,  /* unreadable card or malformed code */
	/* lockers[]: which books to take; PICKUP answers, CANCEL leaves all */
	KIOSK_SCREEN_CHOOSE_BOOKS,
};

struct kiosk_screen_info {
	enum kiosk_screen screen;
	unsigned n_lockers;
	unsigned lockers[KIOSK_SESSION_LOCKERS_MAX];
	unsigned attempts_left;
	char patron_name[KIOSK_NAME_MAX + 1];
};

/*
 * A PIN typed on the keypad, to be checked against its hashes off the event
 * loop (a PBKDF2 run costs tens to hundreds of milliseconds): the caller
 * runs kiosk_pin_check_verify() on a thread of its own and feeds the answer
 * back as KIOSK_INPUT_PIN_CHECKED.
 */
struct kiosk_pin_check {
	uint64_t id; /* the answer names it; never 0 */
	char pin[PIN_DIGITS_MAX + 1];
	unsigned n_hashes;
	char hashes[KIOSK_PIN_HASHES_TRIED_MAX][PIN_HASH_MAX + 1];
};

enum kiosk_action_type {
	KIOSK_ACTION_RECORD, /* .record: make durable before what follows */
	KIOSK_ACTION_UNLOCK, /* .locker, .pulse_ms: energise, release after */
	KIOSK_ACTION_TIMER_ARM,	   /* .timer at .at_usec (monotonic); re-arms */
	KIOSK_ACTION_TIMER_DISARM, /* .timer; disarming an idle timer is fine */
	KIOSK_ACTION_SCREEN,	   /* .screen: what the screen shows now */
	/*
	 * .guard: save it (failures and until_usec 0: forget it), before
	 * the actions after it are carried out.
	 */
	KIOSK_ACTION_GUARD,
	/*
	 * .check_id: check the PIN kiosk_get_pin_check() gives, off the
	 * loop, and feed the answer as KIOSK_INPUT_PIN_CHECKED.
	 */
	KIOSK_ACTION_PIN_CHECK,
	/*
	 * .locker: its opening ended with no record of an outcome (the
	 * patron cancelled and the door was not opened): forget the opening
	 * its LOCKER_UNLOCKED noted, so a restart does not fault the locker.
	 */
	KIOSK_ACTION_OPENING_DROPPED,
};

struct kiosk_action {
	enum kiosk_action_type type;
	struct kiosk_record record;
	unsigned locker;
	uint32_t pulse_ms;
	struct kiosk_timer timer;
	uint64_t at_usec;
	struct kiosk_screen_info screen;
	struct kiosk_guard guard;
	uint64_t check_id;
};

struct kiosk_actions {
	unsigned n;
	struct kiosk_action a[KIOSK_ACTIONS_MAX];
};

enum kiosk_input_type {
	KIOSK_INPUT_START,	/* once, after the state is loaded */
	KIOSK_INPUT_CREDENTIAL, /* .credential: raw card/code/barcode text */
	/*
	 * .pin: digits typed on the keypad. The answer comes later, as a
	 * PIN_CHECK action's KIOSK_INPUT_PIN_CHECKED; while one is awaited,
	 * another PIN is refused (-EBUSY).
	 */
	KIOSK_INPUT_PIN,
	/*
	 * The person at the screen ends the session. A pickup door of a
	 * patron's session not seen open yet is given up: no second pulse,
	 * no fault, the hold stays (OPENING_DROPPED once its confirm time
	 * is over, unless the door opens meanwhile: a pickup as usual).
	 */
	KIOSK_INPUT_CANCEL,
	KIOSK_INPUT_RETURN_START, /* patron pressed "return books" */
	KIOSK_INPUT_DOOR,	  /* .locker, .door_open: sensor edge */
	KIOSK_INPUT_TIMER,	  /* .timer fired */
	KIOSK_INPUT_LOAD,	  /* .hold_id, .locker (0 = choose) */
	KIOSK_INPUT_UNLOAD,	  /* .hold_id */
	KIOSK_INPUT_OPEN,	  /* .locker: maintenance opening */
	KIOSK_INPUT_DISABLE,	  /* .locker */
	KIOSK_INPUT_ENABLE,	  /* .locker; clears a fault */
	/*
	 * .locker: the UNLOCK action for it was not carried out (its record
	 * could not be made durable, or the lock output failed). The core
	 * drops that opening without recording anything: no confirm timer,
	 * no retry, no fault (the locker is not to blame), a load's hold
	 * stays PENDING, and a session waiting on the door counts it as not
	 * opened. A door that read open at the pulse (a cut sensor) stays
	 * OPEN and watched, with no purpose. For a locker whose pulse is not
	 * awaiting its door (no opening, or seen open since), a no-op.
	 */
	KIOSK_INPUT_UNLOCK_FAILED,
	/*
	 * .check_id, .pin_matched: the answer to a PIN_CHECK action, bit i
	 * set when the PIN matches the check's hashes[i]. An answer
	 * that comes after its session has moved on (the patron tapped again,
	 * cancelled, timed out, or a newer PIN is being checked) changes
	 * nothing.
	 */
	KIOSK_INPUT_PIN_CHECKED,
	/*
	 * .credential: a book's barcode scanned while a patron's return door
	 * is open, for its return_deposited. -ENOENT: no return door is
	 * open (the scan is something else); -ENOSPC: KIOSK_RETURN_ITEMS_MAX
	 * already; -EINVAL: not 1..KIOSK_BARCODE_MAX of ! to ~. The same
	 * barcode again changes nothing.
	 */
	KIOSK_INPUT_RETURN_ITEM,
	/*
	 * .picks, .n_picks: the patron's answer to CHOOSE_BOOKS. Every hold
	 * of the session is opened whole, except those a pick names: one
	 * with n_left books left (n_left at least its n_items: not opened at
	 * all) is opened for a partial pickup. -EALREADY outside
	 * CHOOSE_BOOKS; -EINVAL for a pick of a hold not on the screen, a
	 * bad or repeated barcode, or every book of every hold left.
	 */
	KIOSK_INPUT_PICKUP,
};

/*
 * One hold of a partial pickup: the barcodes of its books the patron
 * leaves in the locker (1..KIOSK_BARCODE_MAX of ! to ~ each, distinct).
 * Which barcodes a hold has is the caller's to check: the core counts them.
 */
struct kiosk_pick {
	const char *hold_id;
	unsigned n_left;
	const char *const *left;
};

struct kiosk_input {
	enum kiosk_input_type type;
	uint64_t now_usec; /* CLOCK_MONOTONIC: timers, lock-outs */
	int64_t wall_usec; /* CLOCK_REALTIME: hold expiry */
	/*
	 * LOAD/UNLOAD/OPEN/DISABLE/ENABLE come from a logged-in staff session
	 * unless service is set (lokerctl on the control socket, or a server
	 * command), which acts as "service" without a session.
	 */
	bool service;
	/*
	 * With .service: who asked, recorded as the actor "service:<actor>"
	 * (the control socket's peer, "uid=0,user=root,pid=42"); NULL or ""
	 * for plain "service". At most KIOSK_ACTOR_MAX - 8 bytes of ! to ~,
	 * else -EINVAL.
	 */
	const char *actor;
	/*
	 * OPEN, DISABLE, ENABLE with .service: the id of the server command
	 * this input carries out (NULL or "" for none; else 1..63 of ! to ~,
	 * and -EINVAL on any other input), put on the first record the input
	 * makes, so the store can refuse it a second time.
	 */
	const char *command;
	const char *credential;
	const char *pin;
	const char *hold_id;
	unsigned locker;
	bool door_open;
	struct kiosk_timer timer;
	uint64_t check_id;
	unsigned pin_matched;
	const struct kiosk_pick *picks;
	unsigned n_picks;
};

/*
 * Returns a new core with every locker closed, enabled and empty, or NULL
 * with errno EINVAL for a bad config, ENOMEM. The caller frees it with
 * kiosk_free(). The config is copied.
 */
struct kiosk *kiosk_new(const struct kiosk_config *config);
void kiosk_free(struct kiosk *k);

/*
 * Loading state before START (and, for holds, at any time later when the
 * server routes a new hold here). kiosk_add_hold() copies h; a LOADED or
 * EXPIRED hold occupies its locker. Returns 0, -EEXIST for a known id,
 * -ENOSPC past max_holds, -EINVAL for a bad hold or a locker that is out of
 * range, a return locker or already occupied. PICKED_UP and UNLOADED holds
 * are not kept (0 is returned).
 */
int kiosk_add_hold(struct kiosk *k, const struct kiosk_hold *h);
/*
 * The server's newer copy of a hold (h->state PENDING, locker 0): added
 * when unknown (-ENOSPC past max_holds), replaced whole while PENDING (also
 * while it is being loaded: the opening refers to it by id), and only its
 * expires_at taken while LOADED or EXPIRED (an EXPIRED hold stays EXPIRED
 * even given a later expiry: its hold_expired is recorded already). 0, or
 * -EINVAL for a bad hold. The core forgets finished holds, so the caller
 * asks store_put_hold() first and skips a hold it kept (STORE_PUT_KEPT).
 */
int kiosk_put_hold(struct kiosk *k, const struct kiosk_hold *h);
/*
 * Forgets a PENDING hold the server took away: 0, -ENOENT when unknown,
 * -EBUSY when it is in a locker or being loaded right now.
 * kiosk_can_remove_hold() gives the same answer and changes nothing.
 */
int kiosk_remove_hold(struct kiosk *k, const char *id);
/*
 * kiosk_remove_hold() of each of n ids, in one pass over the holds kept
 * (the others keep their order): what a step of a full set's drops costs
 * is then one pass, not one per hold. Returns how many went.
 */
unsigned kiosk_remove_holds(struct kiosk *k, const char *const *ids,
			    unsigned n);
int kiosk_can_remove_hold(const struct kiosk *k, const char *id);
/*
 * v1.1: a loaded or expired hold takes h's credentials, pickup code and
 * PIN hash, its own state and locker kept. 0, -ENOENT when no such hold
 * is in a locker, -EINVAL for a bad h.
 */
int kiosk_set_hold_credentials(struct kiosk *k, const struct kiosk_hold *h);
/*
 * Adds a staff credential, or gives a known one its new PIN hash and role.
 * Returns 0, -ENOSPC, -EINVAL.
 */
int kiosk_put_staff(struct kiosk *k, const struct kiosk_staff *s);
/*
 * Forgets a staff credential: 0, -ENOENT. A staff session of it that is
 * logged in goes on until it ends (it needs no actions to end it); one
 * waiting for its PIN counts every PIN as wrong; the card no longer logs
 * in.
 */
int kiosk_remove_staff(struct kiosk *k, const char *credential_hmac);
/*
 * Saved guessing-defence state, at any time (before START, as the store
 * loads it). 0, -ENOENT for a hold or staff card not known here (a stale
 * row: the caller may forget it), -EINVAL for a bad one.
 */
int kiosk_set_guard(struct kiosk *k, const struct kiosk_guard *g);
/* The server's pin_required, for the sessions that start from now on. */
void kiosk_set_pin_required(struct kiosk *k, bool required);
/*
 * Whether a patron may take part of a hold (the server speaks v1.1): a
 * patron whose holds have two or more books then chooses on
 * CHOOSE_BOOKS before any door opens. For the sessions from now on.
 */
void kiosk_set_partial_pickup(struct kiosk *k, bool allowed);
/* Persistent locker state; -EINVAL for a bad number. */
int kiosk_set_locker_state(struct kiosk *k, unsigned locker,
			   const struct kiosk_locker_state *state);
/*
 * The door sensor reading at start, before START; no alarm is raised.
 * -EINVAL for a bad number, -EBUSY after START (doors then report edges).
 */
int kiosk_set_door(struct kiosk *k, unsigned locker, bool open);

/*
 * Feeds one input and appends what to do to ret, which the caller clears
 * first (-ENOBUFS otherwise: one input's actions always fit in an empty ret).
 * Returns 0, or -errno when the input is refused, with nothing changed and
 * perhaps a SCREEN action explaining it:
 *   -EINVAL  malformed input (bad locker number, empty hold id)
 *   -EPERM   a staff command without a staff session
 *   -ENOENT  no such hold
 *   -EALREADY the hold is already loaded / not in a locker, a second START
 *   -EBUSY   the locker is occupied, or its door is busy with an opening
 *   -EACCES  the locker is disabled or faulted
 *   -ENOSPC  no free locker fits the hold
 */
int kiosk_handle(struct kiosk *k, const struct kiosk_input *in,
		 struct kiosk_actions *ret);

/* Copies locker n's status into ret; -EINVAL for a bad number. */
int kiosk_get_locker(const struct kiosk *k, unsigned n,
		     struct kiosk_locker_info *ret);
unsigned kiosk_get_n_lockers(const struct kiosk *k);
/* True when the credential is a staff member's. */
bool kiosk_is_staff(const struct kiosk *k, const char *credential_hmac);
/* True when this many more holds and staff credentials would still fit. */
bool kiosk_has_room(const struct kiosk *k, unsigned holds, unsigned staff);
/* The hold with this id, or NULL; valid until the next call that changes k. */
const struct kiosk_hold *kiosk_get_hold(const struct kiosk *k, const char *id);
/* The i-th hold kept in memory (0-based), or NULL past the end; as above. */
const struct kiosk_hold *kiosk_get_hold_at(const struct kiosk *k, unsigned i);
/*
 * The barcodes scanned into locker n's last return opening (v1.1), in the
 * order scanned: their count (0 for a bad number), *ret pointing at them
 * until the next kiosk_handle().
 */
unsigned kiosk_get_return_items(const struct kiosk *k, unsigned n,
				const char (**ret)[KIOSK_BARCODE_MAX + 1]);
/* The current screen; valid until the next kiosk_handle(). */
const struct kiosk_screen_info *kiosk_get_screen(const struct kiosk *k);
/*
 * The PIN check a PIN_CHECK action asked for, while its answer is awaited;
 * else NULL. Valid until the next kiosk_handle().
 */
const struct kiosk_pin_check *kiosk_get_pin_check(const struct kiosk *k);
/*
 * The hashes c's PIN matches, bit i for hashes[i] (0: none): PBKDF2 runs
 * for each, slow on purpose. Uses nothing of a core, so it may run on any
 * thread.
 */
unsigned kiosk_pin_check_verify(const struct kiosk_pin_check *c);
/* True while a staff member is logged in (card and PIN). */
bool kiosk_in_staff_session(const struct kiosk *k);

/*
 * Stable lower-case names, as used in the outbox and on the wire; NULL for a
 * value outside the enum.
 */
const char *kiosk_record_type_to_string(enum kiosk_record_type t);
const char *kiosk_purpose_to_string(enum kiosk_purpose p);
const char *kiosk_size_to_string(enum kiosk_size s);
/* Returns 0 and sets ret, or -EINVAL. Accepts "small"/"medium"/"large". */
int kiosk_size_from_string(const char *s, enum kiosk_size *ret);
const char *kiosk_hold_state_to_string(enum kiosk_hold_state s);
int kiosk_hold_state_from_string(const char *s, enum kiosk_hold_state *ret);
const char *kiosk_door_state_to_string(enum kiosk_door_state s);
const char *kiosk_fault_to_string(enum kiosk_fault f);
const char *kiosk_screen_to_string(enum kiosk_screen s);
