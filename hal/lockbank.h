/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lock banks: one lock output and one door sensor per locker, numbered from
 * 1. Door edges reach the event loop through a file descriptor.
 *
 * Lock outputs start locked (de-energised) and lockbank_free() leaves them
 * locked. Pulse timing is the caller's: energise, then release.
 */
#pragma once

#include <stdbool.h>

#define LOCKBANK_LOCKERS_MAX 128
/* Door events queued before the loop reads them. */
#define LOCKBANK_QUEUE_MAX 256

struct lockbank_event {
	unsigned locker;
	bool door_open;
};

/*
 * For the benchmarks (tests/bench): when this environment variable names a
 * file, the simulated bank appends "LOCKER PULSES MONOTONIC_NS" to it at
 * the start of every pulse, the time taken on CLOCK_MONOTONIC.
 */
#define LOCKBANK_SIM_PULSE_LOG_ENV "LOKERBUKU_SIM_PULSE_LOG"

/*
 * A simulated bank of n lockers, every door closed; tests and the demo open
 * and close doors with lockbank_sim_set_door(). Returns NULL with errno set
 * (EINVAL for n out of 1..LOCKBANK_LOCKERS_MAX, or why the file named by
 * LOCKBANK_SIM_PULSE_LOG_ENV cannot be opened). The caller frees it with
 * lockbank_free().
 */
struct lockbank *lockbank_new_sim(unsigned n);

/* How an input line is biased inside the chip. */
enum lockbank_gpiod_bias {
	LOCKBANK_GPIOD_BIAS_AS_IS, /* leave it as the chip has it */
	LOCKBANK_GPIOD_BIAS_PULL_UP,
	LOCKBANK_GPIOD_BIAS_PULL_DOWN,
	LOCKBANK_GPIOD_BIAS_DISABLED,
};

/*
 * Lines of one kind a gpiod bank can take per chip: a chip's locks are one
 * kernel line request, its doors and items another (GPIO_V2_LINES_MAX
 * each).
 */
#define LOCKBANK_GPIOD_LINES_MAX 64

/* The door debounce when the config says 0 (reed switches always bounce). */
#define LOCKBANK_GPIOD_DEBOUNCE_US_DEFAULT 15000

/* Chips one bank takes its lines from: the SoC's and expanders'. */
#define LOCKBANK_GPIOD_CHIPS_MAX 8

/*
 * One line: on chip 0 (chip_path) or on chip k (more_chips[k - 1]), by
 * name when name is set, else by offset.
 */
struct lockbank_gpiod_line {
	const char *name;
	unsigned offset;
	unsigned chip;
};

struct lockbank_gpiod_locker {
	struct lockbank_gpiod_line lock;
	struct lockbank_gpiod_line door;
	bool has_item; /* whether item is wired (held, not yet read) */
	struct lockbank_gpiod_line item;
};

/*
 * A lock bank on one or more gpiochips, each named by its path
 * ("/dev/gpiochip2") or its label ("mcp23017-0x20", as gpiodetect shows;
 * it must name one chip only). Only read during lockbank_new_gpiod().
 */
struct lockbank_gpiod_config {
	const char *chip_path;	       /* chip 0: "/dev/gpiochip0" or a label */
	const char *const *more_chips; /* chips 1..n_more_chips */
	unsigned n_more_chips;	       /* < LOCKBANK_GPIOD_CHIPS_MAX */
	const char *consumer; /* shown by gpioinfo; NULL: "lokerbuku" */
	unsigned n_lockers;   /* entries of lockers[] */
	const struct lockbank_gpiod_locker *lockers; /* [0] is locker 1 */
	bool lock_active_low; /* an energised (unlocked) lock drives low */
	enum lockbank_gpiod_bias door_bias;
	bool door_active_low;	   /* an open door reads low */
	unsigned door_debounce_us; /* 0: LOCKBANK_GPIOD_DEBOUNCE_US_DEFAULT */
	enum lockbank_gpiod_bias item_bias;
	bool item_active_low; /* a present item reads low */
};

/*
 * A lock bank on GPIO lines through libgpiod v2: on each chip one request
 * holds its lock outputs, asked for locked; another its door and item
 * inputs, with door edges (debounced by the kernel) from every chip behind
 * the one lockbank_get_fd(). Returns NULL with errno set (ENOENT: no such
 * chip or line name, EBUSY: a line is in use, EACCES, EINVAL: a bad
 * config) and lockbank_last_error() saying which chip or line.
 * The caller frees it with lockbank_free().
 */
struct lockbank *lockbank_new_gpiod(const struct lockbank_gpiod_config *cfg);
/* A Modbus RTU lock board: its coils drive the locks, its inputs the doors. */
struct lockbank_modbus_locker {
	unsigned coil; /* the lock's relay: a coil address, 0..65535 */
	unsigned door; /* its door sensor: a discrete input address */
	bool has_item;
	unsigned item; /* its item sensor, when has_item */
};

/* Discrete inputs one bank reads: one request (the protocol's limit). */
#define LOCKBANK_MODBUS_INPUTS_MAX 2000

/* The defaults: a door seen within a tenth of a second, a board's reply
 * awaited for 50 ms (lockbank-modbus.c says why). */
#define LOCKBANK_MODBUS_POLL_MS_DEFAULT	   100
#define LOCKBANK_MODBUS_TIMEOUT_MS_DEFAULT 50

/*
 * One board (one slave) on one serial line: its settings are the board's
 * (most ship at 9600 baud, 8N1). Only read during lockbank_new_modbus().
 */
struct lockbank_modbus_config {
	const char *device;  /* "/dev/ttyUSB0", "/dev/serial/by-id/..." */
	unsigned baud;	     /* 1200..115200, a standard rate */
	char parity;	     /* 'N', 'E' or 'O' */
	unsigned data_bits;  /* 8: RTU frames are binary */
	unsigned stop_bits;  /* 1 or 2 */
	unsigned slave;	     /* the board's address, 1..247 */
	unsigned poll_ms;    /* between reads of the door inputs */
	unsigned timeout_ms; /* a reply's first byte awaited, after sending */
	unsigned n_lockers;
	const struct lockbank_modbus_locker *lockers; /* [0] is locker 1 */
	bool door_active_low; /* an open door reads 0 (its contact open) */
	bool item_active_low;
};

/*
 * A lock bank on a Modbus RTU relay/input board, through libmodbus: every
 * lock coil is switched off, and the door inputs read, before it returns.
 * lockbank_get_fd() is a timer: readable when the inputs are to be read
 * again, which lockbank_read_event() does, each exchange bounded by
 * timeout_ms. Returns NULL with errno set (ENOENT, EACCES: the device;
 * ETIMEDOUT: the board does not answer; EINVAL: a bad config) and
 * lockbank_last_error() saying why. The caller frees it with
 * lockbank_free().
 */
struct lockbank *lockbank_new_modbus(const struct lockbank_modbus_config *cfg);

/*
 * Why the last lockbank_new_gpiod() or lockbank_new_modbus() on this thread
 * failed, naming the line or board: "locker 3: door line 5 of
 * /dev/gpiochip0: Device or resource busy". Thread-local storage, valid
 * until the next constructor call.
 */
const char *lockbank_last_error(void);

/* Locks every output, then frees. */
void lockbank_free(struct lockbank *lb);

unsigned lockbank_get_n_lockers(const struct lockbank *lb);
/* Short backend name for status: "sim", "gpiod" or "modbus". Static. */
const char *lockbank_get_backend(const struct lockbank *lb);
/*
 * NULL while the bank's hardware answers; else why not, one line naming it
 * ("modbus slave 1 on /dev/ttyUSB0: not answering: Connection timed out").
 * It is cleared when the hardware answers again. Owned by lb, valid until
 * the next call on lb.
 */
const char *lockbank_get_fault(const struct lockbank *lb);
/* Readable while door events wait (or are to be looked for). Owned by lb. */
int lockbank_get_fd(const struct lockbank *lb);
/*
 * Takes the oldest door event: 0, or -EAGAIN when none waits. When door
 * edges were lost (the kernel's queue overflowed, or could not be read),
 * the door lines are read again and what changed is reported as events.
 */
int lockbank_read_event(struct lockbank *lb, struct lockbank_event *ret);
/* How many times door edges were lost and the door lines read again. */
unsigned lockbank_get_door_resyncs(const struct lockbank *lb);

/* Energises (unlocks) or releases a lock output. -EINVAL for a bad locker. */
int lockbank_set_lock(struct lockbank *lb, unsigned locker, bool energised);
/* Releases every lock output; returns the first error, trying them all. */
int lockbank_release_all(struct lockbank *lb);
/* The door sensor now. -EINVAL for a bad locker. */
int lockbank_get_door(struct lockbank *lb, unsigned locker, bool *ret_open);
/*
 * The item sensor now: whether something lies in the locker. -ENODATA for
 * a locker without one, -EINVAL for a bad locker.
 */
int lockbank_get_item(struct lockbank *lb, unsigned locker, bool *ret_present);

/*
 * Simulator controls. A door is opened or closed by hand (a change queues
 * an event); lock outputs are observed with how many pulses each has had.
 * -EOPNOTSUPP on real hardware, -EINVAL for a bad locker.
 */
int lockbank_sim_set_door(struct lockbank *lb, unsigned locker, bool open);
int lockbank_sim_get_lock(const struct lockbank *lb, unsigned locker,
			  bool *ret_energised, unsigned *ret_pulses);
