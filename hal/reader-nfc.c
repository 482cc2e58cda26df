// SPDX-License-Identifier: GPL-2.0-or-later
/* A card reader on libnfc (PN532, ACR122U...), polled by a thread of its own. */
#include <errno.h>
#include <nfc/nfc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reader-internal.h"

#define POLL_MS_MIN 10 /* the PN532 is not to be polled faster */
/*
 * With no card on the reader the chip itself waits for one, so that a tap
 * is read at once and an idle reader costs next to nothing. A PN532 polls
 * with InAutoPoll (auto_poll() below), which answers as soon as a card
 * comes or with none after 600 ms. Other chips get a select with retries
 * forever (NP_INFINITE_SELECT): it answers when a card comes, and libnfc
 * gives up on it after 300 ms (NFC_ETIMEOUT, which says nothing either
 * way). A select with one activation attempt, answered at once, is due
 * whenever nothing answered for CHECK_MS, and at each poll while a card is
 * on the reader: only an answered "no card" is evidence that it left.
 */
#define CHECK_MS 1000
/*
 * Nothing answered for FAULT_MS: the device is reported faulted and
 * reopened. With the rounds above a chip that stops answering is noticed
 * within FAULT_MS and one command's time-out (350 ms, and libnfc's 50 ms
 * flush): under 3 s.
 */
#define FAULT_MS 2000
/*
 * A card on the reader is polled every POLL_MS_MIN for SETTLE_MS after it
 * came (it is usually taken away by then, and the next card is to be seen
 * at once) and once it was missed, then every poll_ms while it is left.
 */
#define SETTLE_MS 2000

struct reader_nfc {
	struct reader base;
	char connstring[NFC_BUFSIZE_CONNSTRING];
	unsigned poll_ms;
	bool auto_poll; /* a PN532: it waits for cards with InAutoPoll */
	nfc_context *context;
	/* Guards device (against an abort while it is replaced). */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a stop request ends a backoff wait */
	nfc_device *device;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
};

static struct reader_nfc *to_nfc(struct reader *r)
{
	return (struct reader_nfc *)r;
}

/* libnfc's error codes as -errno. */
static int nfc_to_errno(int e)
{
	switch (e) {
	case NFC_SUCCESS:
		return 0;
	case NFC_EIO:
		return -EIO;
	case NFC_EINVARG:
		return -EINVAL;
	case NFC_EDEVNOTSUPP:
		return -EOPNOTSUPP;
	case NFC_ENOTSUCHDEV:
		return -ENODEV;
	case NFC_EOVFLOW:
		return -EOVERFLOW;
	case NFC_ETIMEOUT:
		return -ETIMEDOUT;
	case NFC_EOPABORTED:
		return -ECANCELED;
	case NFC_ENOTIMPL:
		return -ENOSYS;
	case NFC_ETGRELEASED:
		return -ENOLINK;
	case NFC_ERFTRANS:
		return -ECOMM;
	case NFC_EMFCAUTHFAIL:
		return -EACCES;
	case NFC_ECHIP:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* Sleeps ms unless a stop request comes first; true when stopping. */
static bool wait_ms(struct reader_nfc *r, unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->stop) &&
	       pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
		;
	pthread_mutex_unlock(&r->lock);
	return atomic_load(&r->stop);
}

static void set_device(struct reader_nfc *r, nfc_device *dev)
{
	pthread_mutex_lock(&r->lock);
	r->device = dev;
	pthread_mutex_unlock(&r->lock);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int device_open(struct reader_nfc *r)
{
	nfc_device *dev = nfc_open(r->context, r->connstring);
	int err;

	if (!dev)
		return -ENODEV;
	err = nfc_initiator_init(dev);
	if (err < 0) {
		nfc_close(dev);
		return nfc_to_errno(err);
	}
	set_device(r, dev);
	return 0;
}

static void device_close(struct reader_nfc *r)
{
	nfc_device *dev = r->device;

	set_device(r, NULL);
	nfc_close(dev);
}

/* What the poll thread knows of the device and the card. */
struct cards {
	struct reader_debounce debounce;
	uint64_t came;	 /* when the card on the reader was first seen, ms */
	bool waiting;	 /* the device is set to wait for a card */
	bool wait_known; /* ... as far as we know: false after a failure */
};

/*
 * libnfc exports this for its PN53x tools (pn53x-tamashell) without a
 * header: one command to the chip, its reply's data back, within timeout
 * ms (0: none). Its own InAutoPoll wrapper waits without a time-out, which
 * a chip that stopped answering would make forever.
 */
int pn53x_transceive(struct nfc_device *pnd, const uint8_t *pbtTx,
		     const size_t szTx, uint8_t *pbtRx, const size_t szRxLen,
		     int timeout);

/*
 * InAutoPoll: the PN532 looks for an ISO14443A card (type 10h, at 106
 * kbit/s) for period x 150 ms and answers as soon as one is in the field,
 * or with none at the end. 1 and the UID, 0, or -errno.
 */
#define AUTOPOLL_PERIOD 4 /* with no card on the reader: 600 ms */
static int auto_poll(struct reader_nfc *r, uint8_t period, uint8_t *uid,
		     size_t *uid_len)
{
	const uint8_t cmd[] = { 0x60, 0x01, period, 0x10 };
	uint8_t rx[264];
	int len;

	len = pn53x_transceive(r->device, cmd, sizeof(cmd), rx, sizeof(rx),
			       period * 150 + 500);
	if (len < 0)
		return nfc_to_errno(len);
	if (len < 1 || rx[0] == 0)
		return 0;
	/* NbTg, Type, length; Tg, SENS_RES (2), SEL_RES, NFCID1 length, it */
	if (len < 8 || rx[2] < 5 || 3 + rx[2] > len || rx[7] > 10 ||
	    5 + rx[7] > rx[2])
		return -EPROTO;
	memcpy(uid, rx + 8, rx[7]);
	*uid_len = rx[7];
	return 1;
}

/*
 * One poll: 1 (a card), 0 (no card) or -errno (-ETIMEDOUT also from a
 * waiting select that no card ended). Waiting, the chip looks for a card
 * until one comes or for a while; otherwise it tries once. Only an answer
 * feeds the debouncer. The events go to the loop before the card is
 * deselected: it need not wait for that.
 */
static int select_card(struct reader_nfc *r, struct cards *c, bool waiting)
{
	static const nfc_modulation iso14443a = {
		.nmt = NMT_ISO14443A,
		.nbr = NBR_106,
	};
	char credential[READER_CREDENTIAL_MAX + 1];
	struct reader_event events[2];
	nfc_target target;
	uint8_t uid[10];
	size_t uid_len = 0;
	unsigned n;
	int found;

	/* Waiting on a PN532 is its InAutoPoll; it selects once meanwhile. */
	bool infinite = waiting && !r->auto_poll;

	if (!c->wait_known || c->waiting != infinite) {
		found = nfc_device_set_property_bool(
			r->device, NP_INFINITE_SELECT, infinite);
		c->wait_known = found >= 0;
		c->waiting = infinite;
		if (found < 0)
			return nfc_to_errno(found);
	}
	if (waiting && r->auto_poll) {
		/* A card missed once: soon the second answer either way. */
		found = auto_poll(r, c->debounce.present ? 1 : AUTOPOLL_PERIOD,
				  uid, &uid_len);
		if (found < 0)
			return found;
	} else {
		found = nfc_initiator_select_passive_target(
			r->device, iso14443a, NULL, 0, &target);
		if (found < 0)
			return nfc_to_errno(found);
		if (found > 0) {
			uid_len = target.nti.nai.szUidLen;
			memcpy(uid, target.nti.nai.abtUid,
			       uid_len < sizeof(uid) ? uid_len : sizeof(uid));
		}
	}
	/* A UID of no length we know is no member card: as no card. */
	if (found > 0 && reader_format_uid(uid, uid_len, credential,
					   sizeof(credential)) == 0)
		n = reader_debounce_feed(&c->debounce, READER_POLL_CARD,
					 credential, events);
	else
		n = reader_debounce_feed(&c->debounce, READER_POLL_NO_CARD,
					 NULL, events);
	for (unsigned i = 0; i < n; i++) {
		reader_push(&r->base, &events[i]);
		if (events[i].type == READER_EVENT_CARD_PRESENT)
			c->came = now_ms();
	}
	if (found > 0)
		nfc_initiator_deselect_target(r->device);
	return found > 0 ? 1 : 0;
}

/*
 * Reads cards until stopped. No answer, a garbled one or a device reopened
 * never ends a card's presence: only selects the chip answered feed the
 * debouncer, and it outlives the device.
 */
static void *poll_thread(void *userdata)
{
	struct reader_nfc *r = userdata;
	struct cards cards = { 0 };
	unsigned reopen_ms = READER_REOPEN_MS_FIRST;
	uint64_t answered = 0, select_at = 0;

	while (!atomic_load(&r->stop)) {
		const struct reader_debounce *d = &cards.debounce;
		uint64_t now = now_ms(), gap = POLL_MS_MIN;
		bool waiting;
		int err;

		if (!r->device) {
			err = device_open(r);
			if (err < 0) {
				reader_report_fault(&r->base, "cannot open: %s",
						    strerror(-err));
				if (wait_ms(r, reopen_ms))
					break;
				reopen_ms = reader_reopen_next(reopen_ms);
				continue;
			}
			reopen_ms = READER_REOPEN_MS_FIRST;
			answered = now = now_ms();
			cards.wait_known = false;
			reader_report_recovered(&r->base);
		}
		/* A card left on the reader, and not missed: the slow pace. */
		if (d->present && d->misses == 0 &&
		    now - cards.came >= SETTLE_MS)
			gap = r->poll_ms;
		if (select_at + gap > now &&
		    wait_ms(r, (unsigned)(select_at + gap - now)))
			break;
		select_at = now_ms();
		/*
		 * A card that was there is looked for once at each poll, but a
		 * PN532 waits for the next card as soon as it was missed once.
		 */
		if (d->present)
			waiting = d->misses > 0 && r->auto_poll;
		else
			waiting = select_at - answered < CHECK_MS;
		err = select_card(r, &cards, waiting);
		if (err == -ECANCELED && atomic_load(&r->stop))
			break;
		if (err >= 0) {
			answered = now_ms();
			continue;
		}
		if (err == -ETIMEDOUT && waiting && !r->auto_poll)
			continue; /* waited in vain, as expected */
		/* A hung device answers nothing: reopen it. */
		cards.wait_known = false;
		now = now_ms();
		if (now - answered >= FAULT_MS) {
			reader_report_fault(
				&r->base, "not answering for %u ms: %s",
				(unsigned)(now - answered), strerror(-err));
			device_close(r);
		}
	}
	if (r->device)
		device_close(r);
	return NULL;
}

static void reader_nfc_free(struct reader *base)
{
	struct reader_nfc *r = to_nfc(base);

	if (r->thread_started) {
		pthread_mutex_lock(&r->lock);
		atomic_store(&r->stop, true);
		pthread_cond_broadcast(&r->wake);
		/* A poll blocked in the device returns at once. */
		if (r->device)
			nfc_abort_command(r->device);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	if (r->context)
		nfc_exit(r->context);
	reader_fini(&r->base);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct reader_ops nfc_ops = {
	.name = "nfc",
	.free = reader_nfc_free,
};

struct reader *reader_new_nfc(const char *connstring, unsigned poll_ms)
{
	struct reader_nfc *r;
	pthread_condattr_t attr;
	int err;

	if (!connstring || !connstring[0] ||
	    strlen(connstring) >= NFC_BUFSIZE_CONNSTRING ||
	    poll_ms < POLL_MS_MIN) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	memcpy(r->connstring, connstring, strlen(connstring) + 1);
	r->poll_ms = poll_ms;
	/* pn532_uart, pn532_spi, pn532_i2c: libnfc's drivers for a PN532. */
	r->auto_poll = strncmp(connstring, "pn532_", 6) == 0;
	atomic_init(&r->stop, false);
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &attr);
	pthread_condattr_destroy(&attr);
	err = reader_init(&r->base, &nfc_ops);
	if (err < 0) {
		errno = -err;
		goto fail;
	}
	/*
	 * libnfc prints its own errors on stderr at every attempt: a reader
	 * unplugged for a day would fill the journal. The poll thread says
	 * once what went wrong; LIBNFC_LOG_LEVEL=3 in the environment still
	 * shows libnfc's own trace. Set before any thread of ours runs.
	 */
	setenv("LIBNFC_LOG_LEVEL", "0", 0);
	nfc_init(&r->context);
	if (!r->context) {
		errno = ENOMEM;
		goto fail;
	}
	err = pthread_create(&r->thread, NULL, poll_thread, r);
	if (err) {
		errno = err;
		goto fail;
	}
	r->thread_started = true;
	return &r->base;
fail:
	err = errno;
	reader_nfc_free(&r->base);
	errno = err;
	return NULL;
}
