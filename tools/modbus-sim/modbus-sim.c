// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * modbus-sim: a simulated Modbus RTU relay/input board on a pseudo-terminal,
 * answered by libmodbus's own server side, for tests and the bench.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <modbus.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PTY_PATH_MAX 64
#define LINE_MAX_LEN 128

struct sim {
	const char *link;
	int slave_id;
	int master, slave; /* the pty's two ends */
	char pty_path[PTY_PATH_MAX];
	modbus_t *ctx;
	modbus_mapping_t *map;
	bool silent; /* requests are read and dropped */
	char line[LINE_MAX_LEN];
	size_t line_len;
};

static void usage(FILE *f)
{
	fputs("Usage: modbus-sim --link PATH [--slave N] [--coils N] [--inputs N]\n"
	      "                  [--input-on ADDR]...\n"
	      "A Modbus RTU board on a pseudo-terminal, symlinked at PATH, its\n"
	      "inputs off but those named by --input-on.\n"
	      "Commands on standard input, one a line (EOF ends it):\n"
	      "  input ADDR on|off   set a discrete input\n"
	      "  coil ADDR on|off    set a coil, as if the board kept it\n"
	      "  silent              stop answering (requests are dropped)\n"
	      "  answer              answer again\n"
	      "Standard output: \"ready PTY\" once, \"ok COMMAND\" after each\n"
	      "command, and \"coil ADDR on|off NS\" at every change of a coil,\n"
	      "NS the CLOCK_MONOTONIC nanoseconds its request arrived.\n",
	      f);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int open_pty(struct sim *s)
{
	struct termios tio;
	int err;

	s->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->master < 0)
		return -errno;
	if (grantpt(s->master) < 0 || unlockpt(s->master) < 0)
		return -errno;
	err = ptsname_r(s->master, s->pty_path, sizeof(s->pty_path));
	if (err)
		return -err;
	/*
	 * Our own handle on the far end: without one, reads on the master
	 * fail with EIO whenever lokerd does not have the port open. Raw, so
	 * our replies are never echoed back to us before lokerd sets it.
	 */
	s->slave = open(s->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->slave < 0 || tcgetattr(s->slave, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	if (tcsetattr(s->slave, TCSANOW, &tio) < 0)
		return -errno;
	return 0;
}

/* A link left by a killed simulator is replaced; other files are not. */
static int make_link(struct sim *s)
{
	struct stat st;

	if (lstat(s->link, &st) == 0) {
		if (!S_ISLNK(st.st_mode))
			return -EEXIST;
		if (unlink(s->link) < 0)
			return -errno;
	}
	return symlink(s->pty_path, s->link) < 0 ? -errno : 0;
}

/*
 * One request from the line: answered from the mapping (unless silent),
 * each coil it changed printed with the time the request arrived.
 */
static void on_request(struct sim *s)
{
	uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH];
	uint8_t before[UINT16_MAX + 1];
	uint64_t at_ns;
	int rc;

	rc = modbus_receive(s->ctx, req);
	at_ns = now_ns();
	if (rc <= 0) {
		/* Garbled, or for another slave: drop what is left of it. */
		if (rc < 0)
			modbus_flush(s->ctx);
		return;
	}
	if (s->silent)
		return;
	memcpy(before, s->map->tab_bits, (size_t)s->map->nb_bits);
	if (modbus_reply(s->ctx, req, rc, s->map) < 0)
		fprintf(stderr, "modbus-sim: reply: %s\n",
			modbus_strerror(errno));
	for (int i = 0; i < s->map->nb_bits; i++)
		if (before[i] != s->map->tab_bits[i])
			printf("coil %d %s %" PRIu64 "\n", i,
			       s->map->tab_bits[i] ? "on" : "off", at_ns);
	fflush(stdout);
}

static void command(struct sim *s, char *line)
{
	unsigned addr;
	char state[8];

	if (sscanf(line, "input %u %7s", &addr, state) == 2 &&
	    addr < (unsigned)s->map->nb_input_bits &&
	    (strcmp(state, "on") == 0 || strcmp(state, "off") == 0)) {
		s->map->tab_input_bits[addr] = strcmp(state, "on") == 0;
	} else if (sscanf(line, "coil %u %7s", &addr, state) == 2 &&
		   addr < (unsigned)s->map->nb_bits &&
		   (strcmp(state, "on") == 0 || strcmp(state, "off") == 0)) {
		/* As a board that kept a relay on across lokerd's restart. */
		s->map->tab_bits[addr] = strcmp(state, "on") == 0;
	} else if (strcmp(line, "silent") == 0) {
		s->silent = true;
	} else if (strcmp(line, "answer") == 0) {
		s->silent = false;
	} else {
		printf("error %s\n", line);
		fflush(stdout);
		return;
	}
	printf("ok %s\n", line);
	fflush(stdout);
}

/* Reads standard input; false at its end. */
static bool on_stdin(struct sim *s)
{
	char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (s->line_len < sizeof(s->line) - 1)
				s->line[s->line_len++] = buf[i];
			continue;
		}
		s->line[s->line_len] = '\0';
		s->line_len = 0;
		command(s, s->line);
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "link", required_argument, NULL, 'l' },
		{ "slave", required_argument, NULL, 's' },
		{ "coils", required_argument, NULL, 'c' },
		{ "inputs", required_argument, NULL, 'i' },
		{ "input-on", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim s = { .slave_id = 1, .master = -1, .slave = -1 };
	unsigned on[16], n_on = 0;
	int coils = 16, inputs = 16, c, err;

	while ((c = getopt_long(argc, argv, "l:s:c:i:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			s.link = optarg;
			break;
		case 's':
			s.slave_id = atoi(optarg);
			break;
		case 'c':
			coils = atoi(optarg);
			break;
		case 'i':
			inputs = atoi(optarg);
			break;
		case 'o':
			if (n_on == sizeof(on) / sizeof(on[0])) {
				usage(stderr);
				return 2;
			}
			on[n_on++] = (unsigned)atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!s.link || s.slave_id < 1 || s.slave_id > 247 || coils < 1 ||
	    coils > UINT16_MAX || inputs < 1 || inputs > UINT16_MAX) {
		usage(stderr);
		return 2;
	}
	err = open_pty(&s);
	if (err == 0)
		err = make_link(&s);
	if (err < 0) {
		fprintf(stderr, "modbus-sim: %s: %s\n", s.link, strerror(-err));
		return 1;
	}
	/*
	 * libmodbus's RTU server on our end of the pty: its framing, CRC and
	 * replies are the library's own, as a board's firmware would be.
	 */
	s.ctx = modbus_new_rtu(s.pty_path, 9600, 'N', 8, 1);
	s.map = modbus_mapping_new(coils, inputs, 0, 0);
	if (!s.ctx || !s.map || modbus_set_slave(s.ctx, s.slave_id) < 0 ||
	    modbus_set_socket(s.ctx, s.master) < 0) {
		fprintf(stderr, "modbus-sim: %s\n", modbus_strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < n_on; i++) {
		if (on[i] >= (unsigned)inputs) {
			usage(stderr);
			return 2;
		}
		s.map->tab_input_bits[on[i]] = 1;
	}
	printf("ready %s\n", s.pty_path);
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s.master, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "modbus-sim: poll: %s\n",
				strerror(errno));
			break;
		}
		if (p[0].revents & POLLIN)
			on_request(&s);
		if (p[1].revents & (POLLIN | POLLHUP) && !on_stdin(&s))
			break;
	}
	modbus_mapping_free(s.map);
	modbus_free(s.ctx);
	close(s.slave);
	close(s.master);
	unlink(s.link);
	return 0;
}
