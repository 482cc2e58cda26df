// SPDX-License-Identifier: GPL-2.0-or-later
/* The lock bank on a Modbus RTU relay/input board over RS-485, libmodbus. */
#include <errno.h>
#include <modbus.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lockbank-internal.h"

/*
 * libmodbus exchanges are blocking, and they run on lokerd's one loop: a
 * coil write or an input read holds the loop until the board answers, or
 * until the timeout. So the wait is bounded in three parts: the request
 * on the wire (REQUEST_BYTES_MAX character times: write() returns before
 * a slow line has sent it), then timeout_ms for the reply's first byte
 * (a board turns a request round in a few milliseconds), then
 * BYTE_GAP_CHARS character times between the reply's bytes. At 9600 baud
 * an answered read of 24 doors takes about 25 ms; a silent board costs
 * about 60 ms a try, and is tried at most twice a second (below).
 */
#define REQUEST_BYTES_MAX 8
#define BYTE_GAP_CHARS	  4
/*
 * A board that stopped answering is polled this often, and asked at most
 * twice as often in all (a lock release lokerd retries every 100 ms
 * fails at once in between), so that its silence does not take most of
 * the loop's time: about 12 % at the defaults (60 ms a try, twice a
 * second), more at a slow baud rate and a long timeout_ms.
 */
#define FAULT_POLL_MS	 1000
#define FAULT_TRY_GAP_NS (FAULT_POLL_MS / 2 * 1000000ULL)
/* Bits per character on the wire at most: start, 8 data, parity, 2 stop. */
#define CHAR_BITS_MAX 12

struct lockbank_modbus {
	struct lockbank base; /* fd: the poll timer */
	modbus_t *ctx;
	char where[300]; /* "modbus slave 1 on /dev/ttyUSB0" */
	unsigned coil[LOCKBANK_LOCKERS_MAX + 1]; /* [0] unused */
	unsigned door[LOCKBANK_LOCKERS_MAX + 1];
	unsigned item[LOCKBANK_LOCKERS_MAX + 1];
	bool has_item[LOCKBANK_LOCKERS_MAX + 1];
	bool door_active_low, item_active_low;
	/* The inputs read at once: first_input .. first_input + n_inputs. */
	unsigned first_input, n_inputs;
	struct lockbank_doors doors; /* as reported */
	bool item_present[LOCKBANK_LOCKERS_MAX + 1];
	unsigned poll_ms;
	bool line_lost;	   /* closed after an I/O error: reopened to retry */
	uint64_t tried_ns; /* the last exchange began, CLOCK_MONOTONIC */
	int fault_err;	   /* of the last exchange, while it failed; else 0 */
	const char *fault_why; /* libmodbus's words for it */
	char fault[360];
};

static struct lockbank_modbus *to_modbus(struct lockbank *lb)
{
	return (struct lockbank_modbus *)lb;
}

/* libmodbus's errno as -errno: its own codes above MODBUS_ENOBASE too. */
static int neg_errno(int err)
{
	if (err <= 0)
		return -EIO;
	if (err < MODBUS_ENOBASE)
		return -err;
	/* The board answered, refusing: a wrong address or function. */
	if (err <= EMBXGTAR)
		return -EREMOTEIO;
	/* Garbled: a wrong baud rate or parity, a bad A/B pair, noise. */
	return -EBADMSG;
}

static int set_timer(struct lockbank_modbus *m, unsigned ms)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = ms / 1000,
				 .tv_nsec = (long)(ms % 1000) * 1000000L },
	};

	its.it_value = its.it_interval;
	return timerfd_settime(m->base.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

/*
 * Takes the outcome of one exchange (libmodbus's rc, errno): the board
 * stops or starts answering here, and the timer follows, slower while it
 * is silent. Returns 0 or -errno.
 */
static int exchanged(struct lockbank_modbus *m, int rc, int err)
{
	if (rc >= 0) {
		if (m->fault_err) {
			m->fault_err = 0;
			m->fault[0] = '\0';
			set_timer(m, m->poll_ms);
		}
		return 0;
	}
	/*
	 * An unplugged USB adapter fails every read and write from then on:
	 * the device is opened again (perhaps the adapter is back) before
	 * the next exchange. Silence and garbage leave the line as it is.
	 */
	if (err == ETIMEDOUT || err >= MODBUS_ENOBASE) {
		/* A late reply must not be taken for the next request's. */
		modbus_flush(m->ctx);
	} else if (!m->line_lost) {
		modbus_close(m->ctx);
		m->line_lost = true;
	}
	if (!m->fault_err) {
		m->fault_err = neg_errno(err);
		m->fault_why = modbus_strerror(err);
		snprintf(m->fault, sizeof(m->fault), "%s: %s: %s", m->where,
			 m->fault_err == -EREMOTEIO ? "refuses" :
						      "not answering",
			 m->fault_why);
		set_timer(m, FAULT_POLL_MS);
	}
	return neg_errno(err);
}

/*
 * Opens the device again after it was lost, in RS-485 mode where the port
 * has one: a UART wired to a transceiver then has the kernel drive its DE
 * pin; a USB adapter (and a pseudo-terminal) has no such mode and switches
 * direction itself, so its refusal is no error.
 */
static int connect_line(struct lockbank_modbus *m)
{
	if (modbus_connect(m->ctx) < 0)
		return neg_errno(errno);
	modbus_rtu_set_serial_mode(m->ctx, MODBUS_RTU_RS485);
	m->line_lost = false;
	return 0;
}

/*
 * Before an exchange: 0 to go ahead, with the line open; or the fault's
 * error while a silent board was asked too recently.
 */
static int may_try(struct lockbank_modbus *m)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (m->fault_err && now - m->tried_ns < FAULT_TRY_GAP_NS)
		return m->fault_err;
	m->tried_ns = now;
	if (m->line_lost && connect_line(m) < 0)
		return m->fault_err;
	return 0;
}

/* Reads every door and item input in one request. */
static int read_inputs(struct lockbank_modbus *m)
{
	uint8_t bits[LOCKBANK_MODBUS_INPUTS_MAX];
	bool open[LOCKBANK_LOCKERS_MAX + 1] = { false };
	int rc, err;

	err = may_try(m);
	if (err < 0)
		return err;
	rc = modbus_read_input_bits(m->ctx, (int)m->first_input,
				    (int)m->n_inputs, bits);
	err = exchanged(m, rc, errno);
	if (err < 0)
		return err;
	for (unsigned i = 1; i <= m->base.n; i++) {
		open[i] = !bits[m->door[i] - m->first_input] !=
			  !m->door_active_low;
		if (m->has_item[i])
			m->item_present[i] =
				!bits[m->item[i] - m->first_input] !=
				!m->item_active_low;
	}
	lockbank_doors_resync(&m->doors, open, 0);
	return 0;
}

static int modbus_read_event(struct lockbank *lb, struct lockbank_event *ret)
{
	struct lockbank_modbus *m = to_modbus(lb);
	uint64_t ticks;
	int err;

	if (lockbank_doors_next(&m->doors, ret))
		return 0;
	/* Non-blocking: no tick yet is EAGAIN. Missed ticks are one read. */
	if (read(m->base.fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return errno == EAGAIN ? -EAGAIN : -errno;
	err = read_inputs(m);
	if (err < 0)
		return err;
	return lockbank_doors_next(&m->doors, ret) ? 0 : -EAGAIN;
}

static int modbus_set_lock(struct lockbank *lb, unsigned locker, bool energised)
{
	struct lockbank_modbus *m = to_modbus(lb);
	int rc, err;

	err = may_try(m);
	if (err < 0)
		return err;
	rc = modbus_write_bit(m->ctx, (int)m->coil[locker],
			      energised ? TRUE : FALSE);
	return exchanged(m, rc, errno);
}

/* As last read: the board is not asked (the loop must not wait on it). */
static int modbus_get_door(struct lockbank *lb, unsigned locker, bool *ret_open)
{
	struct lockbank_modbus *m = to_modbus(lb);

	if (m->fault_err)
		return m->fault_err;
	*ret_open = m->doors.open[locker];
	return 0;
}

static int modbus_get_item(struct lockbank *lb, unsigned locker,
			   bool *ret_present)
{
	struct lockbank_modbus *m = to_modbus(lb);

	if (!m->has_item[locker])
		return -ENODATA;
	if (m->fault_err)
		return m->fault_err;
	*ret_present = m->item_present[locker];
	return 0;
}

static const char *modbus_get_fault(const struct lockbank *lb)
{
	const struct lockbank_modbus *m = (const struct lockbank_modbus *)lb;

	return m->fault_err ? m->fault : NULL;
}

static void destroy(struct lockbank_modbus *m)
{
	if (m->ctx) {
		if (!m->line_lost)
			modbus_close(m->ctx);
		modbus_free(m->ctx);
	}
	if (m->base.fd >= 0)
		close(m->base.fd);
	free(m);
}

/* The generic code has switched every lock coil off before this. */
static void modbus_free_bank(struct lockbank *lb)
{
	destroy(to_modbus(lb));
}

static const struct lockbank_ops modbus_ops = {
	.name = "modbus",
	.read_event = modbus_read_event,
	.set_lock = modbus_set_lock,
	.get_door = modbus_get_door,
	.get_item = modbus_get_item,
	.get_fault = modbus_get_fault,
	.free = modbus_free_bank,
};

static bool standard_baud(unsigned baud)
{
	static const unsigned rates[] = { 1200,	 2400,	4800,  9600,
					  19200, 38400, 57600, 115200 };

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (baud == rates[i])
			return true;
	return false;
}

static int check_config(const struct lockbank_modbus_config *cfg)
{
	if (!cfg || !cfg->device || !cfg->lockers || cfg->n_lockers < 1 ||
	    cfg->n_lockers > LOCKBANK_LOCKERS_MAX)
		return lockbank_error_set(
			EINVAL,
			"lock bank config: a device and 1 to %d lockers are needed",
			LOCKBANK_LOCKERS_MAX);
	if (!standard_baud(cfg->baud) || cfg->data_bits != 8 ||
	    (cfg->stop_bits != 1 && cfg->stop_bits != 2) ||
	    !strchr("NEO", cfg->parity) || !cfg->parity || cfg->slave < 1 ||
	    cfg->slave > 247 || cfg->poll_ms < 1 || cfg->timeout_ms < 1)
		return lockbank_error_set(
			EINVAL,
			"%s: serial settings or slave address out of range",
			cfg->device);
	return 0;
}

/* Where the inputs lie, checked to fit in one request. */
static int take_lockers(struct lockbank_modbus *m,
			const struct lockbank_modbus_config *cfg)
{
	unsigned lo = UINT32_MAX, hi = 0;

	for (unsigned i = 1; i <= cfg->n_lockers; i++) {
		const struct lockbank_modbus_locker *l = &cfg->lockers[i - 1];

		m->coil[i] = l->coil;
		m->door[i] = l->door;
		m->has_item[i] = l->has_item;
		m->item[i] = l->item;
		lo = l->door < lo ? l->door : lo;
		hi = l->door > hi ? l->door : hi;
		if (l->has_item) {
			lo = l->item < lo ? l->item : lo;
			hi = l->item > hi ? l->item : hi;
		}
		if (l->coil > 0xffff || hi > 0xffff)
			return lockbank_error_set(
				EINVAL, "locker %u: an address above 65535", i);
	}
	if (hi - lo + 1 > LOCKBANK_MODBUS_INPUTS_MAX)
		return lockbank_error_set(
			EINVAL,
			"the door and item inputs %u..%u span more than the %d one request reads",
			lo, hi, LOCKBANK_MODBUS_INPUTS_MAX);
	m->first_input = lo;
	m->n_inputs = hi - lo + 1;
	return 0;
}

/* Opens the line, with the timeouts the comment at the top explains. */
static int open_line(struct lockbank_modbus *m,
		     const struct lockbank_modbus_config *cfg)
{
	uint32_t char_us = CHAR_BITS_MAX * 1000000U / cfg->baud + 1;
	uint32_t response_us =
		cfg->timeout_ms * 1000U + REQUEST_BYTES_MAX * char_us;
	uint32_t gap_us = BYTE_GAP_CHARS * char_us + 1000U;
	int err;

	m->ctx = modbus_new_rtu(cfg->device, (int)cfg->baud, cfg->parity,
				(int)cfg->data_bits, (int)cfg->stop_bits);
	if (!m->ctx || modbus_set_slave(m->ctx, (int)cfg->slave) < 0) {
		err = neg_errno(errno);
		return lockbank_error_set(-err, "%s: %s", m->where,
					  strerror(-err));
	}
	modbus_set_response_timeout(m->ctx, response_us / 1000000U,
				    response_us % 1000000U);
	modbus_set_byte_timeout(m->ctx, gap_us / 1000000U, gap_us % 1000000U);
	if (modbus_connect(m->ctx) < 0) {
		err = neg_errno(errno);
		return lockbank_error_set(
			-err, "%s: %s%s", m->where, strerror(-err),
			err == -EACCES ?
				" (is lokerd's user in the dialout group?)" :
				"");
	}
	/*
	 * A UART wired to a transceiver has the kernel drive its DE pin in
	 * RS-485 mode; a USB adapter (and a pseudo-terminal) has no such mode
	 * and switches direction itself, so its refusal is no error.
	 */
	modbus_rtu_set_serial_mode(m->ctx, MODBUS_RTU_RS485);
	return 0;
}

struct lockbank *lockbank_new_modbus(const struct lockbank_modbus_config *cfg)
{
	bool open[LOCKBANK_LOCKERS_MAX + 1] = { false };
	struct lockbank_modbus *m;
	int err;

	lockbank_error_set(0, "%s", "");
	err = check_config(cfg);
	if (err < 0) {
		errno = -err;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		lockbank_error_set(ENOMEM, "%s", strerror(ENOMEM));
		return NULL;
	}
	m->base.ops = &modbus_ops;
	m->base.n = cfg->n_lockers;
	m->base.fd = -1;
	m->poll_ms = cfg->poll_ms;
	m->door_active_low = cfg->door_active_low;
	m->item_active_low = cfg->item_active_low;
	snprintf(m->where, sizeof(m->where), "modbus slave %u on %s",
		 cfg->slave, cfg->device);
	err = take_lockers(m, cfg);
	if (err < 0)
		goto fail;
	m->base.fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->base.fd < 0) {
		err = lockbank_error_set(errno, "timerfd: %s", strerror(errno));
		goto fail;
	}
	err = open_line(m, cfg);
	if (err < 0)
		goto fail;
	/* Locked first: a board may keep its coils across our restart. */
	for (unsigned i = 1; i <= m->base.n; i++) {
		err = modbus_set_lock(&m->base, i, false);
		if (err < 0) {
			err = lockbank_error_set(
				-err,
				"%s, %u baud %u%c%u: locker %u's coil %u cannot be switched off: %s (check the A/B pair, the slave address, the baud rate and the parity)",
				m->where, cfg->baud, cfg->data_bits,
				cfg->parity, cfg->stop_bits, i, m->coil[i],
				m->fault_why);
			goto fail;
		}
	}
	lockbank_doors_init(&m->doors, m->base.n, open);
	err = read_inputs(m);
	if (err < 0) {
		err = lockbank_error_set(
			-err, "%s: inputs %u..%u: %s", m->where, m->first_input,
			m->first_input + m->n_inputs - 1, m->fault_why);
		goto fail;
	}
	/* The doors as they are now: nothing to report yet. */
	memcpy(open, m->doors.open, sizeof(open));
	lockbank_doors_init(&m->doors, m->base.n, open);
	err = set_timer(m, m->poll_ms);
	if (err < 0) {
		lockbank_error_set(-err, "timerfd: %s", strerror(-err));
		goto fail;
	}
	return &m->base;

fail:
	destroy(m);
	errno = -err;
	return NULL;
}
