// SPDX-License-Identifier: GPL-2.0-or-later
/* The lock bank on real GPIO lines of one or more gpiochips, libgpiod v2. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <linux/gpio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lockbank-internal.h"

_Static_assert(LOCKBANK_GPIOD_LINES_MAX == GPIO_V2_LINES_MAX,
	       "one line request per kind of line");

/* The kernel's internal ENOTSUPP, which some drivers let reach user space. */
#define KERNEL_ENOTSUPP 524
/* Edge events read from the kernel per lockbank_read_event() call at most. */
#define GPIOD_EVENTS_PER_READ_MAX LOCKBANK_QUEUE_MAX

/* One chip of the bank, with its two requests (NULL: no line of that kind). */
struct bank_chip {
	char path[64];			   /* the chip's device, for messages */
	struct gpiod_line_request *locks;  /* its lock outputs */
	struct gpiod_line_request *inputs; /* its door and item inputs */
	/* The doors as last reported, kept from this chip's edges: the
	 * request's sequence numbers show lost edges of its own lines. */
	struct lockbank_doors doors;
};

/* Where a locker's line is: which chip, which offset. */
struct line_at {
	unsigned chip, offset;
};

struct lockbank_gpiod {
	struct lockbank base;
	struct bank_chip chips[LOCKBANK_GPIOD_CHIPS_MAX];
	unsigned n_chips;
	unsigned next_chip; /* read_event starts here: chips take turns */
	/* One event: the rest stay in the kernel, so the fd stays readable. */
	struct gpiod_edge_event_buffer *event;
	struct line_at lock[LOCKBANK_LOCKERS_MAX + 1]; /* [0] unused */
	struct line_at door[LOCKBANK_LOCKERS_MAX + 1];
	struct line_at item[LOCKBANK_LOCKERS_MAX + 1];
	bool has_item[LOCKBANK_LOCKERS_MAX + 1];
};

enum line_role {
	LINE_ROLE_LOCK,
	LINE_ROLE_DOOR,
	LINE_ROLE_ITEM,
};

/* A line the config asks for, while the bank is being made. */
struct line_use {
	enum line_role role;
	unsigned locker;
	unsigned chip;
	unsigned offset;
	const char *name; /* as configured, or NULL */
};

/* libgpiod's failure (-1 or NULL with errno) as -errno. */
static int neg_errno(void)
{
	int err = errno;

	if (err == KERNEL_ENOTSUPP)
		return -EOPNOTSUPP;
	return err > 0 ? -err : -EIO;
}

static struct lockbank_gpiod *to_gpiod(struct lockbank *lb)
{
	return (struct lockbank_gpiod *)lb;
}

static const char *role_name(enum line_role role)
{
	switch (role) {
	case LINE_ROLE_LOCK:
		return "lock";
	case LINE_ROLE_DOOR:
		return "door";
	case LINE_ROLE_ITEM:
		return "item";
	}
	return "?";
}

/* "locker 3: door line 5 "door3" of /dev/gpiochip0" */
static void describe(char *buf, size_t size, const struct line_use *use,
		     const char *chip_path)
{
	if (use->name)
		snprintf(buf, size, "locker %u: %s line %u \"%s\" of %s",
			 use->locker, role_name(use->role), use->offset,
			 use->name, chip_path);
	else
		snprintf(buf, size, "locker %u: %s line %u of %s", use->locker,
			 role_name(use->role), use->offset, chip_path);
}

static int line_error(int err, const struct line_use *use,
		      const char *chip_path, const char *detail)
{
	char what[160];

	describe(what, sizeof(what), use, chip_path);
	return lockbank_error_set(err, "%s: %s%s", what, strerror(err), detail);
}

static int gpiod_bias(enum lockbank_gpiod_bias bias)
{
	switch (bias) {
	case LOCKBANK_GPIOD_BIAS_AS_IS:
		return GPIOD_LINE_BIAS_AS_IS;
	case LOCKBANK_GPIOD_BIAS_PULL_UP:
		return GPIOD_LINE_BIAS_PULL_UP;
	case LOCKBANK_GPIOD_BIAS_PULL_DOWN:
		return GPIOD_LINE_BIAS_PULL_DOWN;
	case LOCKBANK_GPIOD_BIAS_DISABLED:
		return GPIOD_LINE_BIAS_DISABLED;
	}
	return -1;
}

static unsigned door_locker(const struct lockbank_gpiod *g, unsigned chip,
			    unsigned offset)
{
	for (unsigned i = 1; i <= g->base.n; i++)
		if (g->door[i].chip == chip && g->door[i].offset == offset)
			return i;
	return 0;
}

/*
 * Reads the door lines of chip c again, after its edges were lost (their
 * sequence numbers have a gap) or could not be read: the changes are
 * reported. The other chips' doors stay as its record has them.
 */
static int resync_doors(struct lockbank_gpiod *g, unsigned c)
{
	struct bank_chip *chip = &g->chips[c];
	unsigned offsets[LOCKBANK_LOCKERS_MAX], lockers[LOCKBANK_LOCKERS_MAX];
	enum gpiod_line_value values[LOCKBANK_LOCKERS_MAX];
	bool open[LOCKBANK_LOCKERS_MAX + 1];
	struct timespec ts;
	size_t n = 0;

	memcpy(open, chip->doors.open, sizeof(open));
	/* The edge events' clock: those before this, the values show. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (unsigned i = 1; i <= g->base.n; i++)
		if (g->door[i].chip == c) {
			lockers[n] = i;
			offsets[n++] = g->door[i].offset;
		}
	if (n && gpiod_line_request_get_values_subset(chip->inputs, n, offsets,
						      values) < 0)
		return neg_errno();
	for (size_t i = 0; i < n; i++)
		open[lockers[i]] = values[i] == GPIOD_LINE_VALUE_ACTIVE;
	g->base.n_door_resyncs++;
	lockbank_doors_resync(&chip->doors, open,
			      (uint64_t)ts.tv_sec * 1000000000ULL +
				      (uint64_t)ts.tv_nsec);
	return 0;
}

/*
 * The next door event of chip c: 0, -EAGAIN when it has none now, or
 * -errno. Bounded: a chattering line cannot keep the loop here.
 */
static int chip_read_event(struct lockbank_gpiod *g, unsigned c,
			   struct lockbank_event *ret)
{
	struct bank_chip *chip = &g->chips[c];
	int read_err = 0;

	if (!chip->inputs)
		return -EAGAIN;
	for (unsigned i = 0; i < GPIOD_EVENTS_PER_READ_MAX; i++) {
		struct gpiod_edge_event *ev;
		unsigned locker;
		bool open;
		int err;

		if (lockbank_doors_next(&chip->doors, ret))
			return 0;
		if (chip->doors.resync_needed) {
			err = resync_doors(g, c);
			if (err < 0)
				return err;
			continue;
		}
		/* A read that failed, and the lines read again since. */
		if (read_err < 0)
			return read_err;
		/* The fd is non-blocking: an empty queue is EAGAIN. */
		if (gpiod_line_request_read_edge_events(chip->inputs, g->event,
							1) < 0) {
			read_err = neg_errno();
			if (read_err == -EAGAIN)
				return read_err;
			/* Whatever it held may be lost: read the lines. */
			chip->doors.resync_needed = true;
			continue;
		}
		ev = gpiod_edge_event_buffer_get_event(g->event, 0);
		if (!ev)
			return -EIO;
		locker =
			door_locker(g, c, gpiod_edge_event_get_line_offset(ev));
		open = gpiod_edge_event_get_event_type(ev) ==
		       GPIOD_EDGE_EVENT_RISING_EDGE;
		if (lockbank_doors_edge(
			    &chip->doors, locker, open,
			    gpiod_edge_event_get_global_seqno(ev),
			    gpiod_edge_event_get_timestamp_ns(ev))) {
			*ret = (struct lockbank_event){ .locker = locker,
							.door_open = open };
			return 0;
		}
	}
	return -EAGAIN;
}

/* Each chip in turn, so that one chattering chip cannot starve the rest. */
static int gpiod_read_event(struct lockbank *lb, struct lockbank_event *ret)
{
	struct lockbank_gpiod *g = to_gpiod(lb);

	for (unsigned k = 0; k < g->n_chips; k++) {
		unsigned c = (g->next_chip + k) % g->n_chips;
		int err = chip_read_event(g, c, ret);

		if (err == -EAGAIN)
			continue;
		g->next_chip = (c + 1) % g->n_chips;
		return err;
	}
	return -EAGAIN;
}

static int gpiod_set_lock(struct lockbank *lb, unsigned locker, bool energised)
{
	struct lockbank_gpiod *g = to_gpiod(lb);
	const struct line_at *at = &g->lock[locker];

	if (gpiod_line_request_set_value(g->chips[at->chip].locks, at->offset,
					 energised ?
						 GPIOD_LINE_VALUE_ACTIVE :
						 GPIOD_LINE_VALUE_INACTIVE) < 0)
		return neg_errno();
	return 0;
}

static int get_input(struct lockbank_gpiod *g, const struct line_at *at,
		     bool *ret_active)
{
	enum gpiod_line_value v = gpiod_line_request_get_value(
		g->chips[at->chip].inputs, at->offset);

	if (v == GPIOD_LINE_VALUE_ERROR)
		return neg_errno();
	*ret_active = v == GPIOD_LINE_VALUE_ACTIVE;
	return 0;
}

static int gpiod_get_door(struct lockbank *lb, unsigned locker, bool *ret_open)
{
	struct lockbank_gpiod *g = to_gpiod(lb);

	return get_input(g, &g->door[locker], ret_open);
}

static int gpiod_get_item(struct lockbank *lb, unsigned locker,
			  bool *ret_present)
{
	struct lockbank_gpiod *g = to_gpiod(lb);

	if (!g->has_item[locker])
		return -ENODATA;
	return get_input(g, &g->item[locker], ret_present);
}

static void destroy(struct lockbank_gpiod *g)
{
	for (unsigned c = 0; c < g->n_chips; c++) {
		if (g->chips[c].inputs)
			gpiod_line_request_release(g->chips[c].inputs);
		if (g->chips[c].locks)
			gpiod_line_request_release(g->chips[c].locks);
	}
	if (g->event)
		gpiod_edge_event_buffer_free(g->event);
	if (g->base.fd >= 0)
		close(g->base.fd);
	free(g);
}

/* The generic code has driven every lock locked before this. */
static void gpiod_free(struct lockbank *lb)
{
	destroy(to_gpiod(lb));
}

static const struct lockbank_ops gpiod_ops = {
	.name = "gpiod",
	.read_event = gpiod_read_event,
	.set_lock = gpiod_set_lock,
	.get_door = gpiod_get_door,
	.get_item = gpiod_get_item,
	.free = gpiod_free,
};

/*
 * Opens the chip spec names: a path, or the label (or name, "gpiochip2")
 * gpiodetect shows, which must be one chip's only. Its device path into
 * ret_path. NULL with the error recorded.
 */
static struct gpiod_chip *open_chip(const char *spec, char *ret_path,
				    size_t path_size, int *ret_err)
{
	struct gpiod_chip *found = NULL;
	char other[64] = "";
	struct dirent *de;
	DIR *dir;

	if (spec[0] == '/') {
		struct gpiod_chip *chip = gpiod_chip_open(spec);

		if (!chip) {
			int err = -neg_errno();

			*ret_err = lockbank_error_set(err, "%s: %s", spec,
						      strerror(err));
			return NULL;
		}
		snprintf(ret_path, path_size, "%s", spec);
		return chip;
	}
	dir = opendir("/dev");
	if (!dir) {
		*ret_err =
			lockbank_error_set(errno, "/dev: %s", strerror(errno));
		return NULL;
	}
	while ((de = readdir(dir))) {
		struct gpiod_chip_info *info;
		struct gpiod_chip *chip;
		char path[64];
		bool match;

		if (strncmp(de->d_name, "gpiochip", 8) != 0 ||
		    strlen(de->d_name) > 40)
			continue;
		snprintf(path, sizeof(path), "/dev/%.40s", de->d_name);
		chip = gpiod_chip_open(path);
		info = chip ? gpiod_chip_get_info(chip) : NULL;
		match = info &&
			(strcmp(gpiod_chip_info_get_label(info), spec) == 0 ||
			 strcmp(gpiod_chip_info_get_name(info), spec) == 0);
		if (info)
			gpiod_chip_info_free(info);
		if (!match) {
			if (chip)
				gpiod_chip_close(chip);
			continue;
		}
		if (found) {
			snprintf(other, sizeof(other), "%s", path);
			gpiod_chip_close(chip);
			break;
		}
		found = chip;
		snprintf(ret_path, path_size, "%s", path);
	}
	closedir(dir);
	if (found && other[0]) {
		*ret_err = lockbank_error_set(
			EINVAL,
			"gpiochip \"%s\": both %s and %s have that label; name the chip by its path",
			spec, ret_path, other);
		gpiod_chip_close(found);
		return NULL;
	}
	if (!found)
		*ret_err = lockbank_error_set(
			ENOENT,
			"gpiochip \"%s\": no chip has that label or name (gpiodetect lists them)",
			spec);
	return found;
}

/* Finds the offset of a configured line and checks it is on its chip. */
static int resolve(struct gpiod_chip *chip, const char *chip_path,
		   size_t num_lines, const struct lockbank_gpiod_line *line,
		   struct line_use *use)
{
	char detail[64];

	use->name = line->name;
	use->offset = line->offset;
	use->chip = line->chip;
	if (line->name) {
		int offset =
			gpiod_chip_get_line_offset_from_name(chip, line->name);

		if (offset < 0) {
			int err = -neg_errno();

			return lockbank_error_set(
				err, "locker %u: %s line \"%s\" of %s: %s",
				use->locker, role_name(use->role), line->name,
				chip_path,
				err == ENOENT ? "no line of that name" :
						strerror(err));
		}
		use->offset = (unsigned)offset;
	}
	if (use->offset >= num_lines) {
		snprintf(detail, sizeof(detail), " (the chip has %zu lines)",
			 num_lines);
		return line_error(EINVAL, use, chip_path, detail);
	}
	return 0;
}

/*
 * Resolves every line the config names into uses[] and checks no line is
 * named twice. Returns how many, or -errno.
 */
static int resolve_all(struct gpiod_chip *const *chips, char (*paths)[64],
		       const struct lockbank_gpiod_config *cfg,
		       struct line_use *uses)
{
	size_t num_lines[LOCKBANK_GPIOD_CHIPS_MAX];
	unsigned n_chips = cfg->n_more_chips + 1;
	int n = 0;

	for (unsigned c = 0; c < n_chips; c++) {
		struct gpiod_chip_info *info = gpiod_chip_get_info(chips[c]);

		if (!info) {
			int err = -neg_errno();

			return lockbank_error_set(err, "%s: %s", paths[c],
						  strerror(err));
		}
		num_lines[c] = gpiod_chip_info_get_num_lines(info);
		gpiod_chip_info_free(info);
	}
	for (unsigned i = 1; i <= cfg->n_lockers; i++) {
		const struct lockbank_gpiod_locker *l = &cfg->lockers[i - 1];
		struct {
			enum line_role role;
			const struct lockbank_gpiod_line *line;
			bool wired;
		} lines[] = {
			{ LINE_ROLE_LOCK, &l->lock, true },
			{ LINE_ROLE_DOOR, &l->door, true },
			{ LINE_ROLE_ITEM, &l->item, l->has_item },
		};

		for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
			unsigned c = lines[k].line->chip;
			int err;

			if (!lines[k].wired)
				continue;
			uses[n] = (struct line_use){ .role = lines[k].role,
						     .locker = i };
			if (c >= n_chips)
				return lockbank_error_set(
					EINVAL,
					"locker %u: %s line: chip %u, but the bank has %u",
					i, role_name(lines[k].role), c,
					n_chips);
			err = resolve(chips[c], paths[c], num_lines[c],
				      lines[k].line, &uses[n]);
			if (err < 0)
				return err;
			for (int j = 0; j < n; j++) {
				char detail[64];

				if (uses[j].chip != uses[n].chip ||
				    uses[j].offset != uses[n].offset)
					continue;
				snprintf(detail, sizeof(detail),
					 " (also the %s line of locker %u)",
					 role_name(uses[j].role),
					 uses[j].locker);
				return line_error(EINVAL, &uses[n], paths[c],
						  detail);
			}
			n++;
		}
	}
	return n;
}

/*
 * After a request failed with EBUSY: which of its lines is in use, and by
 * whom. The kernel does not say, so ask each line.
 */
static int busy_error(struct gpiod_chip *chip, unsigned c,
		      const char *chip_path, const struct line_use *uses,
		      int n_uses, bool inputs)
{
	for (int i = 0; i < n_uses; i++) {
		struct gpiod_line_info *info;
		char detail[64] = "";
		bool used;

		if ((uses[i].role != LINE_ROLE_LOCK) != inputs ||
		    uses[i].chip != c)
			continue;
		info = gpiod_chip_get_line_info(chip, uses[i].offset);
		if (!info)
			continue;
		used = gpiod_line_info_is_used(info);
		if (used && gpiod_line_info_get_consumer(info) &&
		    gpiod_line_info_get_consumer(info)[0])
			snprintf(detail, sizeof(detail), " (used by \"%s\")",
				 gpiod_line_info_get_consumer(info));
		gpiod_line_info_free(info);
		if (used)
			return line_error(EBUSY, &uses[i], chip_path, detail);
	}
	return lockbank_error_set(EBUSY, "%s lines of %s: %s",
				  inputs ? "door and item" : "lock", chip_path,
				  strerror(EBUSY));
}

/* Settings for the lines of one role, or NULL with errno set. */
static struct gpiod_line_settings *
role_settings(const struct lockbank_gpiod_config *cfg, enum line_role role)
{
	struct gpiod_line_settings *s = gpiod_line_settings_new();
	int bias;
	int err = 0;

	if (!s)
		return NULL;
	switch (role) {
	case LINE_ROLE_LOCK:
		/* Locked in the request itself: the line never glitches open. */
		err |= gpiod_line_settings_set_direction(
			s, GPIOD_LINE_DIRECTION_OUTPUT);
		gpiod_line_settings_set_active_low(s, cfg->lock_active_low);
		err |= gpiod_line_settings_set_output_value(
			s, GPIOD_LINE_VALUE_INACTIVE);
		break;
	case LINE_ROLE_DOOR:
		bias = gpiod_bias(cfg->door_bias);
		err |= gpiod_line_settings_set_direction(
			s, GPIOD_LINE_DIRECTION_INPUT);
		err |= gpiod_line_settings_set_edge_detection(
			s, GPIOD_LINE_EDGE_BOTH);
		err |= bias < 0 ? -1 : gpiod_line_settings_set_bias(s, bias);
		gpiod_line_settings_set_active_low(s, cfg->door_active_low);
		/*
		 * The kernel debounces: in the chip when it can, else in
		 * software in the GPIO character device (so on gpio-sim),
		 * which needs the line's interrupt as edge detection does.
		 */
		gpiod_line_settings_set_debounce_period_us(
			s, cfg->door_debounce_us ?
				   cfg->door_debounce_us :
				   LOCKBANK_GPIOD_DEBOUNCE_US_DEFAULT);
		break;
	case LINE_ROLE_ITEM:
		bias = gpiod_bias(cfg->item_bias);
		err |= gpiod_line_settings_set_direction(
			s, GPIOD_LINE_DIRECTION_INPUT);
		err |= bias < 0 ? -1 : gpiod_line_settings_set_bias(s, bias);
		gpiod_line_settings_set_active_low(s, cfg->item_active_low);
		break;
	}
	if (err) {
		gpiod_line_settings_free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

/*
 * Requests the lines of uses[] on chip c that are inputs, or else the
 * outputs; *ret stays NULL when there are none.
 */
static int request(struct gpiod_chip *chip, unsigned c, const char *chip_path,
		   const struct lockbank_gpiod_config *cfg,
		   const struct line_use *uses, int n_uses, bool inputs,
		   struct gpiod_line_request **ret)
{
	static const enum line_role roles[] = { LINE_ROLE_LOCK, LINE_ROLE_DOOR,
						LINE_ROLE_ITEM };
	struct gpiod_line_config *lc = gpiod_line_config_new();
	struct gpiod_request_config *rc = gpiod_request_config_new();
	unsigned offsets[GPIO_V2_LINES_MAX];
	size_t total = 0;
	int err = 0;

	if (!lc || !rc) {
		err = lockbank_error_set(ENOMEM, "%s: %s", chip_path,
					 strerror(ENOMEM));
		goto out;
	}
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		struct gpiod_line_settings *s;
		size_t n = 0;

		if ((roles[r] != LINE_ROLE_LOCK) != inputs)
			continue;
		for (int i = 0; i < n_uses; i++) {
			if (uses[i].role != roles[r] || uses[i].chip != c)
				continue;
			if (total + n == GPIO_V2_LINES_MAX) {
				err = lockbank_error_set(
					EINVAL,
					"%s: more than %d %s lines: one request holds at most %d",
					chip_path, GPIO_V2_LINES_MAX,
					inputs ? "input" : "lock",
					GPIO_V2_LINES_MAX);
				goto out;
			}
			offsets[n++] = uses[i].offset;
		}
		if (n == 0)
			continue;
		total += n;
		s = role_settings(cfg, roles[r]);
		if (!s || gpiod_line_config_add_line_settings(lc, offsets, n,
							      s) < 0) {
			err = neg_errno();
			gpiod_line_settings_free(s);
			err = lockbank_error_set(-err, "%s lines of %s: %s",
						 role_name(roles[r]), chip_path,
						 strerror(-err));
			goto out;
		}
		gpiod_line_settings_free(s);
	}
	if (total == 0)
		goto out;
	gpiod_request_config_set_consumer(rc, cfg->consumer ? cfg->consumer :
							      "lokerbuku");
	if (inputs)
		gpiod_request_config_set_event_buffer_size(rc,
							   LOCKBANK_QUEUE_MAX);
	*ret = gpiod_chip_request_lines(chip, rc, lc);
	if (!*ret) {
		err = neg_errno();
		if (err == -EBUSY)
			err = busy_error(chip, c, chip_path, uses, n_uses,
					 inputs);
		else
			err = lockbank_error_set(-err, "%s lines of %s: %s",
						 inputs ? "door and item" :
							  "lock",
						 chip_path, strerror(-err));
	}
out:
	gpiod_request_config_free(rc);
	gpiod_line_config_free(lc);
	return err;
}

/*
 * Fills g from the requests: where each locker's lines are, the doors as
 * they are, and one epoll fd that is readable while any chip has edges.
 */
static int take_state(struct lockbank_gpiod *g, const struct line_use *uses,
		      int n_uses)
{
	bool open[LOCKBANK_LOCKERS_MAX + 1] = { false };

	g->base.fd = epoll_create1(EPOLL_CLOEXEC);
	if (g->base.fd < 0)
		return lockbank_error_set(errno, "epoll: %s", strerror(errno));
	for (unsigned c = 0; c < g->n_chips; c++) {
		struct bank_chip *chip = &g->chips[c];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = c };
		int fd, flags;

		if (!chip->inputs)
			continue;
		fd = gpiod_line_request_get_fd(chip->inputs);
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
		    epoll_ctl(g->base.fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return lockbank_error_set(errno, "%s: %s", chip->path,
						  strerror(errno));
	}
	for (int i = 0; i < n_uses; i++) {
		struct line_at at = { uses[i].chip, uses[i].offset };
		unsigned locker = uses[i].locker;
		int err;

		switch (uses[i].role) {
		case LINE_ROLE_LOCK:
			g->lock[locker] = at;
			break;
		case LINE_ROLE_DOOR:
			g->door[locker] = at;
			err = get_input(g, &at, &open[locker]);
			if (err < 0)
				return line_error(-err, &uses[i],
						  g->chips[at.chip].path, "");
			break;
		case LINE_ROLE_ITEM:
			g->item[locker] = at;
			g->has_item[locker] = true;
			break;
		}
	}
	for (unsigned c = 0; c < g->n_chips; c++)
		lockbank_doors_init(&g->chips[c].doors, g->base.n, open);
	return 0;
}

struct lockbank *lockbank_new_gpiod(const struct lockbank_gpiod_config *cfg)
{
	struct line_use uses[3 * LOCKBANK_LOCKERS_MAX];
	struct gpiod_chip *chips[LOCKBANK_GPIOD_CHIPS_MAX] = { NULL };
	char paths[LOCKBANK_GPIOD_CHIPS_MAX][64];
	struct lockbank_gpiod *g = NULL;
	unsigned n_chips = 0;
	int n_uses;
	int err;

	lockbank_error_set(0, "%s", "");
	if (!cfg || !cfg->chip_path || !cfg->lockers || cfg->n_lockers < 1 ||
	    cfg->n_lockers > LOCKBANK_LOCKERS_MAX ||
	    cfg->n_more_chips >= LOCKBANK_GPIOD_CHIPS_MAX ||
	    (cfg->n_more_chips && !cfg->more_chips)) {
		err = lockbank_error_set(
			EINVAL,
			"lock bank config: 1 to %d chips and 1 to %d lockers are needed",
			LOCKBANK_GPIOD_CHIPS_MAX, LOCKBANK_LOCKERS_MAX);
		goto fail;
	}
	for (; n_chips <= cfg->n_more_chips; n_chips++) {
		const char *spec =
			n_chips ? cfg->more_chips[n_chips - 1] : cfg->chip_path;

		chips[n_chips] =
			open_chip(spec, paths[n_chips], sizeof(paths[0]), &err);
		if (!chips[n_chips])
			goto fail;
		for (unsigned k = 0; k < n_chips; k++)
			if (strcmp(paths[k], paths[n_chips]) == 0) {
				err = lockbank_error_set(
					EINVAL,
					"%s: named twice in the bank (\"%s\" and \"%s\")",
					paths[k],
					k ? cfg->more_chips[k - 1] :
					    cfg->chip_path,
					spec);
				n_chips++;
				goto fail;
			}
	}
	n_uses = resolve_all(chips, paths, cfg, uses);
	if (n_uses < 0) {
		err = n_uses;
		goto fail;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		err = lockbank_error_set(ENOMEM, "%s", strerror(ENOMEM));
		goto fail;
	}
	g->base.ops = &gpiod_ops;
	g->base.n = cfg->n_lockers;
	g->base.fd = -1;
	g->n_chips = n_chips;
	for (unsigned c = 0; c < n_chips; c++)
		memcpy(g->chips[c].path, paths[c], sizeof(paths[c]));
	g->event = gpiod_edge_event_buffer_new(1);
	if (!g->event) {
		err = lockbank_error_set(ENOMEM, "%s", strerror(ENOMEM));
		goto fail;
	}
	/* Every chip's locks first, so they are held locked before anything
	 * else. */
	for (unsigned c = 0; c < n_chips; c++) {
		err = request(chips[c], c, paths[c], cfg, uses, n_uses, false,
			      &g->chips[c].locks);
		if (err < 0)
			goto fail;
	}
	for (unsigned c = 0; c < n_chips; c++) {
		err = request(chips[c], c, paths[c], cfg, uses, n_uses, true,
			      &g->chips[c].inputs);
		if (err < 0)
			goto fail;
	}
	err = take_state(g, uses, n_uses);
	if (err < 0)
		goto fail;
	for (unsigned c = 0; c < n_chips; c++)
		gpiod_chip_close(chips[c]);
	return &g->base;

fail:
	if (g)
		destroy(g);
	for (unsigned c = 0; c < n_chips; c++)
		if (chips[c])
			gpiod_chip_close(chips[c]);
	errno = -err;
	return NULL;
}
