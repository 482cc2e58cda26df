// SPDX-License-Identifier: GPL-2.0-or-later
/* A keyboard-wedge barcode scanner on evdev, read by a thread of its own. */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "reader-internal.h"
#include "scan-decode.h"

/* Events taken per read(); more wait for the next one. */
#define READ_EVENTS_MAX 64

_Static_assert(SCAN_TEXT_MAX <= READER_CREDENTIAL_MAX,
	       "a scan must fit into a reader event");

struct reader_evdev {
	struct reader base;
	char *path;
	int stop_fd; /* eventfd, readable once the thread is to end */
	pthread_t thread;
	bool thread_started;

	/* The thread's own. */
	int fd; /* the device, or -1 */
	struct scan_decoder decoder;
	bool resync; /* events lost: skip up to the next SYN_REPORT */
};

static struct reader_evdev *to_evdev(struct reader *r)
{
	return (struct reader_evdev *)r;
}

static void report_fault(struct reader_evdev *r, const char *what, int err)
{
	reader_report_fault(&r->base, "%s: %s%s", r->path, what,
			    strerror(-err));
}

static void unreadable(struct reader_evdev *r, const char *why)
{
	struct reader_event ev = { .type = READER_EVENT_UNREADABLE };

	snprintf(ev.credential, sizeof(ev.credential), "%s", why);
	reader_push(&r->base, &ev);
}

/* Waits ms, or less when the thread is to end: true then. */
static bool wait_stop(struct reader_evdev *r, unsigned ms)
{
	struct pollfd p = { .fd = r->stop_fd, .events = POLLIN };

	return poll(&p, 1, (int)ms) > 0;
}

/* Opens and grabs the device: 0, or -errno with the fault reported. */
static int device_open(struct reader_evdev *r)
{
	int clock = CLOCK_MONOTONIC;
	int fd, err;

	fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		report_fault(r, "", err);
		return err;
	}
	/*
	 * Exclusively: a scan must not also type into the console or the
	 * browser. Someone else's grab (EBUSY) takes every key from us.
	 */
	if (ioctl(fd, EVIOCGRAB, 1) < 0) {
		err = -errno;
		close(fd);
		report_fault(r, "cannot grab: ", err);
		return err;
	}
	/*
	 * The pause between keys is measured on the events' own times, taken
	 * by the kernel as the keys came: how late this thread read them does
	 * not matter. Monotonic, so that a step of the wall clock is no pause;
	 * should a kernel refuse, only such a step could drop a scan.
	 */
	(void)ioctl(fd, EVIOCSCLOCKID, &clock);
	r->fd = fd;
	reader_report_recovered(&r->base);
	return 0;
}

static void device_close(struct reader_evdev *r)
{
	if (r->fd < 0)
		return;
	close(r->fd);
	r->fd = -1;
	/* A half-typed scan is no scan, and no key stays held. */
	scan_decoder_init(&r->decoder);
	r->resync = false;
}

static void handle_event(struct reader_evdev *r, const struct input_event *ie)
{
	uint64_t usec = (uint64_t)ie->input_event_sec * 1000000 +
			(uint64_t)ie->input_event_usec;
	struct reader_event ev = { .type = READER_EVENT_BARCODE };
	int err;

	if (ie->type == EV_SYN && ie->code == SYN_DROPPED) {
		/* The kernel's buffer overflowed: keys of a scan are missing. */
		scan_decoder_lost(&r->decoder, usec);
		r->resync = true;
		unreadable(r, "keys were lost");
		return;
	}
	if (r->resync) {
		/* Up to the next report, events are incomplete as well. */
		if (ie->type == EV_SYN && ie->code == SYN_REPORT)
			r->resync = false;
		return;
	}
	if (ie->type != EV_KEY)
		return; /* EV_MSC scan codes, EV_LED, SYN_REPORT */
	err = scan_decoder_key(&r->decoder, ie->code, ie->value, usec,
			       ev.credential, sizeof(ev.credential));
	if (err == 1)
		reader_push(&r->base, &ev);
	else if (err == -EMSGSIZE)
		unreadable(r, "too long");
	else if (err == -ETIMEDOUT)
		unreadable(r, "broken off");
}

/*
 * Waits for the device's events or the end of the thread: 1 to end, 0
 * when the device works, -errno when it is gone.
 */
static int device_wait(struct reader_evdev *r)
{
	struct pollfd p[] = {
		{ .fd = r->stop_fd, .events = POLLIN },
		{ .fd = r->fd, .events = POLLIN },
	};
	struct input_event events[READ_EVENTS_MAX];
	ssize_t len;

	if (poll(p, 2, -1) < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[0].revents)
		return 1;
	if (!(p[1].revents & POLLIN))
		return p[1].revents ? -ENODEV : 0; /* POLLHUP, POLLERR */
	len = read(r->fd, events, sizeof(events));
	if (len < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (len == 0)
		return -ENODEV;
	/* evdev hands out whole events only. */
	for (size_t i = 0; i < (size_t)len / sizeof(events[0]); i++)
		handle_event(r, &events[i]);
	return 0;
}

static void *evdev_thread(void *userdata)
{
	struct reader_evdev *r = userdata;
	unsigned reopen_ms = READER_REOPEN_MS_FIRST;

	for (;;) {
		int err;

		if (r->fd < 0) {
			err = device_open(r);
		} else {
			err = device_wait(r);
			if (err > 0)
				break;
			/*
			 * Only a device that delivers restarts the backoff:
			 * one that opens but fails at once must not make
			 * FAULT and RECOVERED alternate four times a second.
			 */
			if (err == 0)
				reopen_ms = READER_REOPEN_MS_FIRST;
			else
				report_fault(r, "", err);
		}
		if (err < 0) {
			device_close(r);
			if (wait_stop(r, reopen_ms))
				break;
			reopen_ms = reader_reopen_next(reopen_ms);
		}
	}
	device_close(r);
	return NULL;
}

static void reader_evdev_free(struct reader *base)
{
	struct reader_evdev *r = to_evdev(base);

	if (r->thread_started) {
		/* Ends the thread's poll() at once, whatever it waits for. */
		eventfd_write(r->stop_fd, 1);
		pthread_join(r->thread, NULL);
	}
	if (r->stop_fd >= 0)
		close(r->stop_fd);
	reader_fini(&r->base);
	free(r->path);
	free(r);
}

static const struct reader_ops evdev_ops = {
	.name = "evdev",
	.free = reader_evdev_free,
};

struct reader *reader_new_evdev(const char *device_path)
{
	struct reader_evdev *r;
	int err;

	if (!device_path || !device_path[0]) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->stop_fd = -1;
	r->fd = -1;
	scan_decoder_init(&r->decoder);
	r->path = strdup(device_path);
	if (!r->path)
		goto fail;
	err = reader_init(&r->base, &evdev_ops);
	if (err < 0) {
		errno = -err;
		goto fail;
	}
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0)
		goto fail;
	err = pthread_create(&r->thread, NULL, evdev_thread, r);
	if (err) {
		errno = err;
		goto fail;
	}
	r->thread_started = true;
	return &r->base;
fail:
	err = errno;
	reader_evdev_free(&r->base);
	errno = err;
	return NULL;
}
