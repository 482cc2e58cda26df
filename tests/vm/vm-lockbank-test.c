// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Runs inside the test VM: drives the gpiod lock bank on a gpio-sim chip and
 * checks what it does through gpio-sim's sysfs and the kernel's GPIO uapi.
 *
 * Usage: vm-lockbank-test CHIP SYSFS-DIR, e.g. /dev/gpiochip0
 * /sys/devices/platform/gpio-sim.0/gpiochip0. The chip is laid out as
 * tests/vm/gpio.scenario makes it: lines 0-5 "lock1".."lock6", 6-11
 * "door1".."door6", 12-13 "item1", "item2". Prints one "ok"/"not ok" line per
 * check; exits 0 when every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lockbank.h"

#define N_LOCKERS     6
#define LOCK_LINE(i)  ((i)-1)		  /* offset of locker i's lock */
#define DOOR_LINE(i)  (N_LOCKERS + (i)-1) /* offset of locker i's door */
#define PULSE_MS      200
#define EVENT_WAIT_MS 2000

static const char *chip_path;
static const char *sysfs_dir;
static unsigned n_checks, n_failed;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	n_checks++;
	if (!ok)
		n_failed++;
	printf("%s %u - ", ok ? "ok" : "not ok", n_checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* What gpio-sim says line `offset` is at now: 0, 1, or -1. */
static int sim_value(unsigned offset)
{
	char path[256], buf[8] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/value", sysfs_dir, offset);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	return buf[0] == '1' ? 1 : buf[0] == '0' ? 0 : -1;
}

/* Sets the outside world's level on a line: "pull-up" or "pull-down". */
static int sim_pull(unsigned offset, const char *pull)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/pull", sysfs_dir, offset);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, pull, strlen(pull)) == (ssize_t)strlen(pull);
	close(fd);
	return ok ? 0 : -EIO;
}

/* The values of lines [first, first + n) as a string of 0/1/?. */
static const char *sim_values(unsigned first, unsigned n)
{
	static char buf[64];

	for (unsigned i = 0; i < n && i < sizeof(buf) - 1; i++) {
		int v = sim_value(first + i);

		buf[i] = v < 0 ? '?' : (char)('0' + v);
		buf[i + 1] = '\0';
	}
	return buf;
}

static bool all_locks_are(const char *want)
{
	return strcmp(sim_values(LOCK_LINE(1), N_LOCKERS), want) == 0;
}

/* The kernel's own view of a line, through the uapi rather than libgpiod. */
static int line_info(unsigned offset, struct gpio_v2_line_info *ret)
{
	int fd = open(chip_path, O_RDWR | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	memset(ret, 0, sizeof(*ret));
	ret->offset = offset;
	if (ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, ret) < 0)
		err = -errno;
	close(fd);
	return err;
}

static unsigned line_debounce_us(const struct gpio_v2_line_info *info)
{
	for (unsigned i = 0; i < info->num_attrs; i++)
		if (info->attrs[i].id == GPIO_V2_LINE_ATTR_ID_DEBOUNCE)
			return info->attrs[i].debounce_period_us;
	return 0;
}

/* Takes a line as another program would; returns its request fd. */
static int grab_line(unsigned offset, const char *consumer)
{
	struct gpio_v2_line_request req;
	int fd = open(chip_path, O_RDWR | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.offsets[0] = offset;
	req.num_lines = 1;
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
	snprintf(req.consumer, sizeof(req.consumer), "%s", consumer);
	err = ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0 ? -errno : 0;
	close(fd);
	return err < 0 ? err : req.fd;
}

/* Waits for the next door event, up to EVENT_WAIT_MS. */
static int wait_event(struct lockbank *lb, struct lockbank_event *ret)
{
	long long deadline = now_us() + EVENT_WAIT_MS * 1000LL;

	for (;;) {
		struct pollfd p = { .fd = lockbank_get_fd(lb),
				    .events = POLLIN };
		long long left_ms = (deadline - now_us()) / 1000;
		int err = lockbank_read_event(lb, ret);

		if (err != -EAGAIN)
			return err;
		if (left_ms <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left_ms) < 0)
			return -errno;
	}
}

static struct lockbank_gpiod_locker lockers[N_LOCKERS];
static char lock_names[N_LOCKERS][16];

/* Locks by name, doors by offset, item sensors on lockers 1 and 2. */
static struct lockbank_gpiod_config base_config(void)
{
	for (unsigned i = 1; i <= N_LOCKERS; i++) {
		struct lockbank_gpiod_locker *l = &lockers[i - 1];

		snprintf(lock_names[i - 1], sizeof(lock_names[0]), "lock%u", i);
		*l = (struct lockbank_gpiod_locker){
			.lock = { .name = lock_names[i - 1] },
			.door = { .offset = DOOR_LINE(i) },
		};
	}
	lockers[0].has_item = true;
	lockers[0].item.name = "item1";
	lockers[1].has_item = true;
	lockers[1].item.offset = 13;
	return (struct lockbank_gpiod_config){
		.chip_path = chip_path,
		.consumer = "lokerbuku-vm",
		.n_lockers = N_LOCKERS,
		.lockers = lockers,
		/* A door switch to ground on a pull-up: open reads low. */
		.door_bias = LOCKBANK_GPIOD_BIAS_PULL_UP,
		.door_active_low = true,
		.item_bias = LOCKBANK_GPIOD_BIAS_PULL_DOWN,
	};
}

static void check_requests(void)
{
	struct gpio_v2_line_info info;
	bool locks_ok = true, doors_ok = true;
	unsigned debounce = 0;

	for (unsigned i = 1; i <= N_LOCKERS; i++) {
		if (line_info(LOCK_LINE(i), &info) < 0 ||
		    !(info.flags & GPIO_V2_LINE_FLAG_OUTPUT) ||
		    !(info.flags & GPIO_V2_LINE_FLAG_USED) ||
		    strcmp(info.consumer, "lokerbuku-vm") != 0)
			locks_ok = false;
		if (line_info(DOOR_LINE(i), &info) < 0 ||
		    !(info.flags & GPIO_V2_LINE_FLAG_INPUT) ||
		    !(info.flags & GPIO_V2_LINE_FLAG_EDGE_RISING) ||
		    !(info.flags & GPIO_V2_LINE_FLAG_EDGE_FALLING) ||
		    !(info.flags & GPIO_V2_LINE_FLAG_ACTIVE_LOW) ||
		    !(info.flags & GPIO_V2_LINE_FLAG_BIAS_PULL_UP))
			doors_ok = false;
		else
			debounce = line_debounce_us(&info);
	}
	check(locks_ok,
	      "lock lines are outputs held by consumer \"lokerbuku-vm\"");
	check(doors_ok && debounce == LOCKBANK_GPIOD_DEBOUNCE_US_DEFAULT,
	      "door lines are active-low pulled-up inputs on both edges, debounced %u us",
	      debounce);
}

static void check_pulse(struct lockbank *lb)
{
	struct itimerspec its = { .it_value = { .tv_nsec =
							PULSE_MS * 1000000L } };
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	long long t0, t_fired = -1, first = -1, last = -1;
	unsigned samples = 0, locked_during = 0;
	int after;

	if (tfd < 0) {
		check(false, "a %d ms pulse: timerfd: %s", PULSE_MS,
		      strerror(errno));
		return;
	}
	t0 = now_us();
	lockbank_set_lock(lb, 4, true);
	timerfd_settime(tfd, 0, &its, NULL);
	/* The loop a daemon would run, sampling the line once a ms. */
	while (now_us() - t0 < 2 * PULSE_MS * 1000LL) {
		struct pollfd p = { .fd = tfd, .events = POLLIN };
		long long t;
		int v;

		if (poll(&p, 1, 1) == 1) {
			unsigned long long expirations;

			if (read(tfd, &expirations, sizeof(expirations)) < 0)
				break;
			lockbank_set_lock(lb, 4, false);
			t_fired = now_us() - t0;
			break;
		}
		v = sim_value(LOCK_LINE(4));
		t = now_us() - t0;
		samples++;
		if (v == 1) {
			if (first < 0)
				first = t;
			last = t;
		} else if (first >= 0) {
			locked_during++;
		}
	}
	after = sim_value(LOCK_LINE(4));
	close(tfd);
	note("pulse: released after %.1f ms; line seen unlocked from %.1f to %.1f ms in %u samples; locked after: %s",
	     t_fired / 1000.0, first / 1000.0, last / 1000.0, samples,
	     after == 0 ? "yes" : "no");
	check(t_fired >= PULSE_MS * 1000LL && t_fired < 2 * PULSE_MS * 1000LL &&
		      first >= 0 && first < PULSE_MS * 1000LL / 2 &&
		      last >= PULSE_MS * 1000LL / 2 && locked_during == 0 &&
		      after == 0,
	      "a %d ms pulse on locker 4 timed by timerfd is seen on its line: %.1f ms",
	      PULSE_MS, t_fired / 1000.0);
}

static void check_door(struct lockbank *lb, unsigned locker)
{
	struct lockbank_event ev = { 0 };
	long long t0, latency;
	bool open = false;
	int err;

	t0 = now_us();
	sim_pull(DOOR_LINE(locker), "pull-down");
	err = wait_event(lb, &ev);
	latency = now_us() - t0;
	check(err == 0 && ev.locker == locker && ev.door_open,
	      "opening door %u is seen through the fd as locker %u open (%s) after %.1f ms",
	      locker, ev.locker, err ? strerror(-err) : "no error",
	      latency / 1000.0);
	/*
	 * Not a check: the kernel's software debounce counts jiffies, and an
	 * emulated guest's tick can run late, so the wait can come out a tick
	 * or two short of 15 ms. check_bounce() tests the debounce itself.
	 */
	note("door %u: event %.1f ms after the line changed (debounce %d ms; about 1 ms without)",
	     locker, latency / 1000.0,
	     LOCKBANK_GPIOD_DEBOUNCE_US_DEFAULT / 1000);
	err = lockbank_get_door(lb, locker, &open);
	check(err == 0 && open, "get_door(%u) reads open", locker);

	t0 = now_us();
	sim_pull(DOOR_LINE(locker), "pull-up");
	ev = (struct lockbank_event){ 0 };
	err = wait_event(lb, &ev);
	latency = now_us() - t0;
	check(err == 0 && ev.locker == locker && !ev.door_open,
	      "closing door %u is seen as locker %u closed (%s) after %.1f ms",
	      locker, ev.locker, err ? strerror(-err) : "no error",
	      latency / 1000.0);
	err = lockbank_get_door(lb, locker, &open);
	check(err == 0 && !open, "get_door(%u) reads closed", locker);
}

/* A bounce shorter than the debounce must not be reported. */
static void check_bounce(struct lockbank *lb)
{
	struct lockbank_event ev;
	struct pollfd p = { .fd = lockbank_get_fd(lb), .events = POLLIN };
	long long t0 = now_us(), gap;
	int err;

	sim_pull(DOOR_LINE(2), "pull-down");
	sim_pull(DOOR_LINE(2), "pull-up");
	gap = now_us() - t0;
	poll(&p, 1, 100);
	err = lockbank_read_event(lb, &ev);
	if (gap > 2000) {
		note("bounce check not meaningful: the two writes took %.1f ms",
		     gap / 1000.0);
		/* Whatever the kernel saw of it, take it out of the way. */
		while (err == 0 || poll(&p, 1, 100) == 1)
			err = lockbank_read_event(lb, &ev);
		return;
	}
	check(err == -EAGAIN, "a %.2f ms bounce on door 2 is not reported",
	      gap / 1000.0);
}

/* Lock lines pulled to "unlocked", so only the request can make them locked. */
static void check_bank(void)
{
	struct lockbank_gpiod_config cfg = base_config();
	struct lockbank *lb;
	struct lockbank_event ev;
	struct gpio_v2_line_info info;
	bool open = true, ok = true, released = true;
	int err;

	for (unsigned i = 1; i <= N_LOCKERS; i++)
		sim_pull(LOCK_LINE(i), "pull-up");
	check(all_locks_are("111111"),
	      "before the bank exists the lock lines float unlocked: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));

	lb = lockbank_new_gpiod(&cfg);
	check(lb != NULL, "lockbank_new_gpiod(%s) makes a bank: %s", chip_path,
	      lb ? "yes" : lockbank_last_error());
	if (!lb)
		return;
	check(strcmp(lockbank_get_backend(lb), "gpiod") == 0 &&
		      lockbank_get_n_lockers(lb) == N_LOCKERS,
	      "backend \"%s\" with %u lockers", lockbank_get_backend(lb),
	      lockbank_get_n_lockers(lb));
	check(all_locks_are("000000"),
	      "every lock line reads locked right after creation: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
	check_requests();

	lockbank_set_lock(lb, 3, true);
	check(all_locks_are("001000"),
	      "set_lock(3, true) drives locker 3's line unlocked, no other: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
	lockbank_set_lock(lb, 3, false);
	check(all_locks_are("000000"), "set_lock(3, false) locks it: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
	check(lockbank_set_lock(lb, 7, true) == -EINVAL,
	      "set_lock(7) on a bank of 6 is EINVAL");

	check_pulse(lb);

	for (unsigned i = 1; i <= N_LOCKERS; i++) {
		err = lockbank_get_door(lb, i, &open);
		ok = ok && err == 0 && !open;
	}
	check(ok && lockbank_read_event(lb, &ev) == -EAGAIN,
	      "every door reads closed and no event waits");
	check_door(lb, 5);
	check_bounce(lb);
	check(lockbank_read_event(lb, &ev) == -EAGAIN, "no other event waits");

	for (unsigned i = 1; i <= N_LOCKERS; i++)
		lockbank_set_lock(lb, i, true);
	err = lockbank_release_all(lb);
	check(err == 0 && all_locks_are("000000"),
	      "release_all after unlocking all six locks them all: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));

	/*
	 * gpio-sim returns a released line to its pull: pull the lock lines
	 * to "locked" now (a driven output ignores its pull), leave locker 6
	 * unlocked, and free.
	 */
	lockbank_set_lock(lb, 6, true);
	for (unsigned i = 1; i <= N_LOCKERS; i++)
		sim_pull(LOCK_LINE(i), "pull-down");
	check(all_locks_are("000001"),
	      "a driven lock line ignores the outside pull: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
	lockbank_free(lb);
	for (unsigned i = 0; i < 2 * N_LOCKERS + 2; i++)
		if (line_info(i, &info) < 0 ||
		    (info.flags & GPIO_V2_LINE_FLAG_USED))
			released = false;
	check(released && all_locks_are("000000"),
	      "after lockbank_free every line is released and every lock reads locked: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
}

/*
 * Edges lost: door 1 opens, then door 2 chatters more edges than the
 * kernel queues (LOCKBANK_QUEUE_MAX) before anything is read, so door 1's
 * edge is dropped. The bank must see the gap and read the lines again.
 */
#define CHATTER_EDGES 400

static void check_lost_edges(void)
{
	struct lockbank_gpiod_config cfg = base_config();
	struct timespec gap = { .tv_nsec = 10 * 1000000L };
	struct lockbank_event ev;
	struct lockbank *lb;
	int last[N_LOCKERS + 1];
	unsigned n_events = 0;
	long long t0;
	bool open = false;
	int err;

	/* The shortest debounce, one tick: each edge below is its own. */
	cfg.door_debounce_us = 1;
	lb = lockbank_new_gpiod(&cfg);
	check(lb != NULL, "a bank with a 1 us door debounce is made: %s",
	      lb ? "yes" : lockbank_last_error());
	if (!lb)
		return;
	for (unsigned i = 0; i <= N_LOCKERS; i++)
		last[i] = -1;
	t0 = now_us();
	sim_pull(DOOR_LINE(1), "pull-down");
	nanosleep(&gap, NULL);
	for (unsigned i = 0; i < CHATTER_EDGES; i++) {
		sim_pull(DOOR_LINE(2), i % 2 ? "pull-up" : "pull-down");
		nanosleep(&gap, NULL);
	}
	nanosleep(&gap, NULL);
	note("lost edges: door 1 opened, %d edges on door 2 in %.1f ms",
	     CHATTER_EDGES, (now_us() - t0) / 1000.0);
	/* Everything queued, and what the bank finds, till it is quiet. */
	for (;;) {
		struct pollfd p = { .fd = lockbank_get_fd(lb),
				    .events = POLLIN };

		err = lockbank_read_event(lb, &ev);
		if (err == 0) {
			n_events++;
			if (ev.locker <= N_LOCKERS)
				last[ev.locker] = ev.door_open;
			continue;
		}
		if (err != -EAGAIN || poll(&p, 1, 200) != 1)
			break;
	}
	note("lost edges: %u events read, the lines read again %u times",
	     n_events, lockbank_get_door_resyncs(lb));
	check(err == -EAGAIN && n_events <= LOCKBANK_QUEUE_MAX + N_LOCKERS &&
		      lockbank_get_door_resyncs(lb) >= 1,
	      "door edges lost from the kernel's full queue are noticed: %u events, %u reads of the lines",
	      n_events, lockbank_get_door_resyncs(lb));
	check(last[1] == 1 && lockbank_get_door(lb, 1, &open) == 0 && open,
	      "door 1, whose edge was lost, is reported open");
	check(last[2] != 1 && last[3] == -1,
	      "door 2 ends closed, as it is, and door 3 says nothing");
	sim_pull(DOOR_LINE(1), "pull-up");
	ev = (struct lockbank_event){ 0 };
	err = wait_event(lb, &ev);
	check(err == 0 && ev.locker == 1 && !ev.door_open,
	      "its edges are reported again after: door 1 closed (%s)",
	      err ? strerror(-err) : "no error");
	lockbank_free(lb);
}

/* Active-low locks: locked is high, and high is also where released lines go. */
static void check_active_low(void)
{
	struct lockbank_gpiod_config cfg = base_config();
	struct lockbank *lb;

	for (unsigned i = 1; i <= N_LOCKERS; i++)
		sim_pull(LOCK_LINE(i), "pull-up");
	cfg.lock_active_low = true;
	lb = lockbank_new_gpiod(&cfg);
	check(lb != NULL, "an active-low bank is made: %s",
	      lb ? "yes" : lockbank_last_error());
	if (!lb)
		return;
	check(all_locks_are("111111"),
	      "active-low: every lock line reads locked (high): %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
	lockbank_set_lock(lb, 2, true);
	check(all_locks_are("101111"),
	      "active-low: set_lock(2, true) drives locker 2's line low: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
	lockbank_free(lb);
	check(all_locks_are("111111"),
	      "active-low: after lockbank_free with locker 2 unlocked every lock reads locked: %s",
	      sim_values(LOCK_LINE(1), N_LOCKERS));
}

static void check_errors(void)
{
	struct lockbank_gpiod_config cfg = base_config();
	struct lockbank *lb;
	const char *msg;
	int fd;

	fd = grab_line(DOOR_LINE(2), "vm-test");
	check(fd >= 0, "the test holds door line %u itself", DOOR_LINE(2));
	lb = lockbank_new_gpiod(&cfg);
	msg = lockbank_last_error();
	check(!lb && errno == EBUSY && strstr(msg, "door line 7") &&
		      strstr(msg, "vm-test"),
	      "a busy line gives EBUSY naming it: %s", msg);
	lockbank_free(lb);
	if (fd >= 0)
		close(fd);

	cfg.chip_path = "/dev/gpiochip-none";
	lb = lockbank_new_gpiod(&cfg);
	msg = lockbank_last_error();
	check(!lb && errno == ENOENT && strstr(msg, "/dev/gpiochip-none"),
	      "a missing chip gives ENOENT: %s", msg);
	lockbank_free(lb);

	cfg = base_config();
	lockers[3].lock.name = "no-such-line";
	lb = lockbank_new_gpiod(&cfg);
	msg = lockbank_last_error();
	check(!lb && errno == ENOENT && strstr(msg, "no-such-line"),
	      "an unknown line name gives ENOENT: %s", msg);
	lockbank_free(lb);

	cfg = base_config();
	lockers[3].door.offset = LOCK_LINE(2);
	lb = lockbank_new_gpiod(&cfg);
	msg = lockbank_last_error();
	check(!lb && errno == EINVAL && strstr(msg, "locker 4: door line 1"),
	      "a line named twice gives EINVAL: %s", msg);
	lockbank_free(lb);

	cfg = base_config();
	lockers[3].door.offset = 99;
	lb = lockbank_new_gpiod(&cfg);
	msg = lockbank_last_error();
	check(!lb && errno == EINVAL && strstr(msg, "line 99"),
	      "a line past the chip's end gives EINVAL: %s", msg);
	lockbank_free(lb);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CHIP SYSFS-DIR\n", argv[0]);
		return 2;
	}
	chip_path = argv[1];
	sysfs_dir = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);

	check_bank();
	check_lost_edges();
	check_active_low();
	check_errors();

	printf("vm-lockbank-test: %u passed, %u failed\n", n_checks - n_failed,
	       n_failed);
	return n_failed ? 1 : 0;
}
