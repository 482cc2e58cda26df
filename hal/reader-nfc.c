// SPDX-License-Identifier: GPL-2.0-or-later
/* A card reader on libnfc (PN532, ACR122U...), polled by a thread of its own. */
#include <errno.h>
#include <nfc/nfc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reader-internal.h"

#define POLL_MS_MIN 10 /* the PN532 is not to be polled faster */
/* Failed polls in a row before the device counts as gone. */
#define POLL_FAILURES_MAX 3

struct reader_nfc {
	struct reader base;
	char connstring[NFC_BUFSIZE_CONNSTRING];
	unsigned poll_ms;
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

static int device_open(struct reader_nfc *r)
{
	nfc_device *dev = nfc_open(r->context, r->connstring);
	int err;

	if (!dev)
		return -ENODEV;
	err = nfc_initiator_init(dev);
	/* One activation attempt per poll: the thread decides the pace. */
	if (err >= 0)
		err = nfc_device_set_property_bool(dev, NP_INFINITE_SELECT,
						   false);
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

/*
 * One poll: 1 and the card's credential, 0 for no card, or -errno when
 * the device did not answer.
 */
static int poll_once(struct reader_nfc *r, char *credential, size_t n)
{
	static const nfc_modulation iso14443a = {
		.nmt = NMT_ISO14443A,
		.nbr = NBR_106,
	};
	nfc_target target;
	int found;

	found = nfc_initiator_select_passive_target(r->device, iso14443a, NULL,
						    0, &target);
	if (found < 0)
		return nfc_to_errno(found);
	if (found == 0)
		return 0;
	nfc_initiator_deselect_target(r->device);
	if (reader_format_uid(target.nti.nai.abtUid, target.nti.nai.szUidLen,
			      credential, n) < 0)
		return 0; /* a UID of no length we know: not a member card */
	return 1;
}

static void *poll_thread(void *userdata)
{
	struct reader_nfc *r = userdata;
	struct reader_debounce debounce = { 0 };
	unsigned reopen_ms = READER_REOPEN_MS_FIRST, failures = 0;

	while (!atomic_load(&r->stop)) {
		char credential[READER_CREDENTIAL_MAX + 1];
		struct reader_event events[2];
		unsigned n;
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
			failures = 0;
			reader_report_recovered(&r->base);
		}

		err = poll_once(r, credential, sizeof(credential));
		if (err == -ECANCELED && atomic_load(&r->stop))
			break;
		if (err < 0 && err != -ETIMEDOUT) {
			/* A hung device answers nothing: reopen it. */
			if (++failures >= POLL_FAILURES_MAX) {
				reader_report_fault(&r->base,
						    "not answering: %s",
						    strerror(-err));
				device_close(r);
			}
		} else {
			failures = 0;
		}
		n = reader_debounce_feed(&debounce,
					 err == 1 ? credential : NULL, events);
		for (unsigned i = 0; i < n; i++)
			reader_push(&r->base, &events[i]);
		if (wait_ms(r, r->poll_ms))
			break;
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
