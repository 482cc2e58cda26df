// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * uinput-type: a virtual USB keyboard that types text the way a barcode
 * scanner does, for testing the evdev scanner backend in the VM.
 *
 *   uinput-type [--name NAME] [--delay-ms N] [--wait-ms N] TEXT...
 *
 * Prints the device's /dev/input/eventN as the first line on stdout. Then,
 * for each TEXT, it waits for a line on stdin (or --wait-ms) and types the
 * TEXT followed by Enter: the first wait lets the reader open and grab the
 * device, the others let a test check each scan. It waits once more before
 * it destroys the device, because evdev throws away the events a reader
 * has not read yet when the device goes away.
 * --delay-ms is the pause after each key (default 2), --name the
 * device's name (default "lokerbuku test scanner").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/uinput.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_DEFAULT "lokerbuku test scanner"
/* pid.codes' test IDs: no real product has them. */
#define VENDOR_ID  0x1209
#define PRODUCT_ID 0x0001
/* How long the event node may take to appear in devtmpfs. */
#define NODE_WAIT_MS	 5000
#define DELAY_MS_DEFAULT 2

/* A US keyboard: each key, the character it types, and with Shift. */
static const struct {
	unsigned short code;
	char plain, shifted;
} keymap[] = {
	{ KEY_1, '1', '!' },	       { KEY_2, '2', '@' },
	{ KEY_3, '3', '#' },	       { KEY_4, '4', '$' },
	{ KEY_5, '5', '%' },	       { KEY_6, '6', '^' },
	{ KEY_7, '7', '&' },	       { KEY_8, '8', '*' },
	{ KEY_9, '9', '(' },	       { KEY_0, '0', ')' },
	{ KEY_MINUS, '-', '_' },       { KEY_EQUAL, '=', '+' },
	{ KEY_Q, 'q', 'Q' },	       { KEY_W, 'w', 'W' },
	{ KEY_E, 'e', 'E' },	       { KEY_R, 'r', 'R' },
	{ KEY_T, 't', 'T' },	       { KEY_Y, 'y', 'Y' },
	{ KEY_U, 'u', 'U' },	       { KEY_I, 'i', 'I' },
	{ KEY_O, 'o', 'O' },	       { KEY_P, 'p', 'P' },
	{ KEY_LEFTBRACE, '[', '{' },   { KEY_RIGHTBRACE, ']', '}' },
	{ KEY_A, 'a', 'A' },	       { KEY_S, 's', 'S' },
	{ KEY_D, 'd', 'D' },	       { KEY_F, 'f', 'F' },
	{ KEY_G, 'g', 'G' },	       { KEY_H, 'h', 'H' },
	{ KEY_J, 'j', 'J' },	       { KEY_K, 'k', 'K' },
	{ KEY_L, 'l', 'L' },	       { KEY_SEMICOLON, ';', ':' },
	{ KEY_APOSTROPHE, '\'', '"' }, { KEY_GRAVE, '`', '~' },
	{ KEY_BACKSLASH, '\\', '|' },  { KEY_Z, 'z', 'Z' },
	{ KEY_X, 'x', 'X' },	       { KEY_C, 'c', 'C' },
	{ KEY_V, 'v', 'V' },	       { KEY_B, 'b', 'B' },
	{ KEY_N, 'n', 'N' },	       { KEY_M, 'm', 'M' },
	{ KEY_COMMA, ',', '<' },       { KEY_DOT, '.', '>' },
	{ KEY_SLASH, '/', '?' },       { KEY_SPACE, ' ', '\0' },
};

/* The key that types c, and whether with Shift: 0, or -EINVAL for none. */
static int find_key(char c, unsigned short *ret_code, bool *ret_shift)
{
	for (size_t i = 0; c && i < sizeof(keymap) / sizeof(keymap[0]); i++) {
		if (c == keymap[i].plain || c == keymap[i].shifted) {
			*ret_code = keymap[i].code;
			*ret_shift = c == keymap[i].shifted;
			return 0;
		}
	}
	return -EINVAL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A key going down (1) or up (0) at ev[n], as a report of its own. */
static size_t key_report(struct input_event *ev, size_t n, unsigned short code,
			 int value)
{
	/* The kernel stamps the time. */
	ev[n] = (struct input_event){ .type = EV_KEY,
				      .code = code,
				      .value = value };
	ev[n + 1] = (struct input_event){ .type = EV_SYN, .code = SYN_REPORT };
	return n + 2;
}

/*
 * One key pressed and released (with shift around it when asked), each
 * change a report of its own, in one write: the kernel stamps them
 * together, and a busy machine can stretch one pause per key rather than
 * four (past SCAN_GAP_USEC, the scan is taken as broken off). Then the
 * pause between keys.
 */
static int tap(int fd, unsigned short code, bool shift, unsigned delay_ms)
{
	struct input_event ev[8];
	size_t n = 0;
	ssize_t w;

	if (shift)
		n = key_report(ev, n, KEY_LEFTSHIFT, 1);
	n = key_report(ev, n, code, 1);
	n = key_report(ev, n, code, 0);
	if (shift)
		n = key_report(ev, n, KEY_LEFTSHIFT, 0);
	w = write(fd, ev, n * sizeof(ev[0]));
	if (w < 0)
		return -errno;
	if ((size_t)w != n * sizeof(ev[0]))
		return -EIO;
	sleep_ms(delay_ms);
	return 0;
}

static int type_text(int fd, const char *text, unsigned delay_ms)
{
	for (const char *p = text; *p; p++) {
		unsigned short code;
		bool shift;
		int err = find_key(*p, &code, &shift);

		if (!err)
			err = tap(fd, code, shift, delay_ms);
		if (err)
			return err;
	}
	return tap(fd, KEY_ENTER, false, delay_ms);
}

/*
 * The evdev node of the input device sysname ("input7"): 0 and
 * "/dev/input/eventN" in ret once sysfs lists it and devtmpfs has it.
 */
static int find_event_node(const char *sysname, char *ret, size_t n)
{
	char dir_path[128];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int err = -ENOENT;

	snprintf(dir_path, sizeof(dir_path), "/sys/devices/virtual/input/%s",
		 sysname);
	dir = opendir(dir_path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "event", 5) != 0)
			continue;
		snprintf(ret, n, "/dev/input/%s", de->d_name);
		if (stat(ret, &st) == 0 && S_ISCHR(st.st_mode))
			err = 0;
		break;
	}
	closedir(dir);
	return err;
}

/* A line on stdin (or its end), or wait_ms when that is given. */
static void wait_go(int wait_ms)
{
	int c;

	if (wait_ms >= 0) {
		sleep_ms((unsigned)wait_ms);
		return;
	}
	while ((c = getchar()) != EOF && c != '\n')
		;
}

static int create_device(const char *name)
{
	struct uinput_setup setup = {
		.id = {
			.bustype = BUS_USB,
			.vendor = VENDOR_ID,
			.product = PRODUCT_ID,
			.version = 1,
		},
	};
	int fd;

	fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "uinput-type: /dev/uinput: %s\n",
			strerror(errno));
		return -1;
	}
	strncpy(setup.name, name, sizeof(setup.name) - 1);
	/* No EV_REP: the kernel must not repeat a key on its own. */
	if (ioctl(fd, UI_SET_EVBIT, EV_KEY) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(keymap) / sizeof(keymap[0]); i++)
		if (ioctl(fd, UI_SET_KEYBIT, keymap[i].code) < 0)
			goto fail;
	if (ioctl(fd, UI_SET_KEYBIT, KEY_LEFTSHIFT) < 0 ||
	    ioctl(fd, UI_SET_KEYBIT, KEY_ENTER) < 0 ||
	    ioctl(fd, UI_DEV_SETUP, &setup) < 0 || ioctl(fd, UI_DEV_CREATE) < 0)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "uinput-type: cannot create the device: %s\n",
		strerror(errno));
	close(fd);
	return -1;
}

static int parse_ms(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 600000)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: uinput-type [--name NAME] [--delay-ms N] "
			"[--wait-ms N] TEXT...\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NAME_DEFAULT;
	int delay_ms = DELAY_MS_DEFAULT, wait_ms = -1;
	char sysname[64], node[300];
	int fd, opt, err = -ENOENT;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'd':
			if (parse_ms(optarg, &delay_ms) < 0) {
				usage();
				return 2;
			}
			break;
		case 'w':
			if (parse_ms(optarg, &wait_ms) < 0) {
				usage();
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind == argc || !name[0] ||
	    strlen(name) >= UINPUT_MAX_NAME_SIZE) {
		usage();
		return 2;
	}
	/* Refuse what a US keyboard cannot type before any device exists. */
	for (int i = optind; i < argc; i++) {
		for (const char *p = argv[i]; *p; p++) {
			unsigned short code;
			bool shift;

			if (find_key(*p, &code, &shift) < 0) {
				fprintf(stderr,
					"uinput-type: no US key types '%c' (0x%02x)\n",
					*p, (unsigned char)*p);
				return 2;
			}
		}
	}

	fd = create_device(name);
	if (fd < 0)
		return 1;
	if (ioctl(fd, UI_GET_SYSNAME(sizeof(sysname)), sysname) < 0) {
		fprintf(stderr, "uinput-type: UI_GET_SYSNAME: %s\n",
			strerror(errno));
		goto out;
	}
	/* devtmpfs creates the node by itself; no udev in the VM. */
	for (int ms = 0; ms <= NODE_WAIT_MS; ms += 10) {
		err = find_event_node(sysname, node, sizeof(node));
		if (!err)
			break;
		sleep_ms(10);
	}
	if (err) {
		fprintf(stderr, "uinput-type: no event node for %s: %s\n",
			sysname, strerror(-err));
		goto out;
	}
	printf("%s\n", node);
	fflush(stdout);

	for (int i = optind; i < argc; i++) {
		wait_go(wait_ms);
		err = type_text(fd, argv[i], (unsigned)delay_ms);
		if (err) {
			fprintf(stderr, "uinput-type: typing \"%s\": %s\n",
				argv[i], strerror(-err));
			goto out;
		}
	}
	wait_go(wait_ms);
out:
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return err ? 1 : 0;
}
