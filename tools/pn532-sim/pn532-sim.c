// SPDX-License-Identifier: GPL-2.0-or-later
/* pn532-sim: a PN532 reader on a pseudo-terminal, for libnfc's pn532_uart. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chip.h"
#include "frame.h"

/* Control request and reply lines, newline excluded. */
#define CONTROL_LINE_MAX	127
#define CONTROL_REPLY_MAX	255
#define CONTROL_CLIENTS_MAX	8
#define CONTROL_BACKLOG		8
#define CLIENT_REPLY_TIMEOUT_MS 5000
/* Bytes taken from the pty per read. */
#define READ_CHUNK 512
/*
 * Written but not yet taken by the pty; a host that stops reading loses
 * what does not fit.
 */
#define OUT_BUFFER_MAX 4096
/* Frames waiting for their time on the line: an ACK and a reply. */
#define TX_QUEUE_MAX 4
/* 115200 baud 8N1: 10 bits per byte. */
#define UART_BYTE_NSEC 86806u
#define NSEC_PER_USEC  1000u
#define NSEC_PER_SEC   1000000000u
#define PTY_PATH_MAX   108

enum exit_code {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* client: the simulator said no or is unreachable */
	EXIT_USAGE = 2,
};

struct options {
	const char *link;
	const char *control;
	const char *card;
	bool realistic;
	bool verbose;
};

struct client {
	int fd; /* -1: free slot */
	size_t len;
	char line[CONTROL_LINE_MAX + 1];
};

struct tx {
	uint64_t due_nsec; /* 0: at once */
	size_t size;
	uint8_t bytes[FRAME_SIZE_MAX];
};

struct sim {
	struct options opt;
	struct chip *chip;
	struct frame_parser *parser;
	int master, slave, listen_fd, signal_fd, timer_fd;
	char pty_path[PTY_PATH_MAX];
	bool link_made, socket_made;
	ino_t socket_ino;
	struct client clients[CONTROL_CLIENTS_MAX];
	struct tx queue[TX_QUEUE_MAX];
	size_t queued;
	uint8_t out[OUT_BUFFER_MAX];
	size_t out_size;
	uint8_t last_reply[FRAME_SIZE_MAX];
	size_t last_reply_size;
	/* --realistic-timing: when the host and chip lines fall idle. */
	uint64_t rx_free_nsec, tx_free_nsec;
	uint64_t wait_deadline_nsec; /* 0: no waiting command times out */
	unsigned long frames, bad_frames, unsupported;
	/*
	 * Faults injected on the control socket: replies still to be sent
	 * with a broken checksum, commands still to be ignored, and a chip
	 * that ignores everything until told to answer again.
	 */
	unsigned long garble, drop, garbled, dropped;
	bool hung;
	bool quit;
};

static bool verbose;

static void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("pn532-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void log_bytes(const char *who, uint8_t tfi, const uint8_t *data,
		      size_t size)
{
	char text[3 * (FRAME_DATA_MAX + 1) + 1];
	const char *name = size ? chip_command_name(data[0]) : NULL;
	size_t i, n = 0;

	if (!verbose)
		return;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%02X", tfi);
	for (i = 0; i < size; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " %02X",
				      data[i]);
	if (tfi == FRAME_TFI_HOST && name)
		log_msg("%s %s (%s)", who, text, name);
	else
		log_msg("%s %s", who, text);
}

static uint64_t now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void usage(FILE *f)
{
	fputs("Usage: pn532-sim [--link PATH] [--control SOCKET] [--card UID]\n"
	      "                 [--realistic-timing] [--verbose]\n"
	      "       pn532-sim --control SOCKET tap UID | remove | status\n"
	      "\n"
	      "Emulates a PN532 NFC reader on its serial (HSU) interface over a\n"
	      "pseudo-terminal, for libnfc's pn532_uart driver:\n"
	      "  pn532-sim --link /tmp/x/pn532 --control /tmp/x/ctl &\n"
	      "  LIBNFC_DEVICE=pn532_uart:/tmp/x/pn532 nfc-list\n"
	      "It prints the pty's path, then \"ready\" once it listens.\n"
	      "\n"
	      "  -l, --link PATH        symlink PATH to the pty (libnfc's\n"
	      "                         connstrings cannot hold ':')\n"
	      "  -c, --control SOCKET   accept tap/remove/status on this UNIX\n"
	      "                         socket, one command per line\n"
	      "      --card UID         start with this card on the reader\n"
	      "  -r, --realistic-timing delay replies as a real chip does:\n"
	      "                         86.8 us per byte at 115200 baud,\n"
	      "                         2.5-6.7 ms to activate a card\n"
	      "  -v, --verbose          log every frame on stderr\n"
	      "  -h, --help             show this help\n"
	      "\n"
	      "With a command after the options it is a client: it sends the\n"
	      "command to a running simulator, prints the reply and exits\n"
	      "0 if the simulator said ok, 1 if not.\n"
	      "Commands: tap UID (4, 7 or 10 bytes of hex: the card is placed,\n"
	      "replacing any other), remove, status.\n"
	      "Faults: garble N (the next N replies with a broken checksum),\n"
	      "drop N (the next N commands get no ACK and no reply), hang (the\n"
	      "chip answers nothing), answer (it answers again), fault none.\n",
	      f);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "pn532-sim: %s\nTry 'pn532-sim --help'.\n", msg);
	return EXIT_USAGE;
}

/* Parses 8, 14 or 20 hex digits; -EINVAL otherwise. */
static int parse_uid(const char *hex, uint8_t ret[CHIP_UID_MAX],
		     size_t *ret_size)
{
	uint8_t uid[CHIP_UID_MAX];
	size_t len = strlen(hex), i;

	if (len != 8 && len != 14 && len != 20)
		return -EINVAL;
	for (i = 0; i < len; i += 2) {
		char pair[3] = { hex[i], hex[i + 1], '\0' };
		char *end;

		if (!strchr("0123456789abcdefABCDEF", pair[0]) ||
		    !strchr("0123456789abcdefABCDEF", pair[1]))
			return -EINVAL;
		uid[i / 2] = (uint8_t)strtoul(pair, &end, 16);
	}
	memcpy(ret, uid, len / 2);
	*ret_size = len / 2;
	return 0;
}

static void format_uid(const uint8_t *uid, size_t size, char *buf)
{
	size_t i;

	for (i = 0; i < size; i++)
		sprintf(buf + 2 * i, "%02X", uid[i]);
	buf[2 * size] = '\0';
}

/* --- the serial line -------------------------------------------------- */

static void queue_clear(struct sim *s)
{
	s->queued = 0;
	s->tx_free_nsec = 0;
}

/*
 * Queues bytes for the host. With --realistic-timing they go out when a
 * real chip would have finished sending them: after what the line still
 * carries, after extra_nsec (time on air), plus their own UART time.
 */
static void queue_tx(struct sim *s, const uint8_t *bytes, size_t size,
		     uint64_t extra_nsec, bool is_reply)
{
	struct tx *t;

	if (s->queued == TX_QUEUE_MAX) {
		log_msg("transmit queue full: dropped a %zu-byte frame", size);
		return;
	}
	t = &s->queue[s->queued++];
	t->due_nsec = 0;
	if (s->opt.realistic) {
		uint64_t start = max_u64(now_nsec(), s->tx_free_nsec);

		start = max_u64(start, s->rx_free_nsec);
		t->due_nsec = start + extra_nsec + size * UART_BYTE_NSEC;
		s->tx_free_nsec = t->due_nsec;
	}
	t->size = size;
	memcpy(t->bytes, bytes, size);
	if (is_reply) {
		memcpy(s->last_reply, bytes, size);
		s->last_reply_size = size;
	}
}

static void queue_reply(struct sim *s, const struct chip_reply *r)
{
	uint8_t frame[FRAME_SIZE_MAX];
	size_t len;

	if (r->verdict != CHIP_VERDICT_REPLY)
		return;
	log_bytes("chip:", FRAME_TFI_CHIP, r->data, r->size);
	if (frame_build(FRAME_TFI_CHIP, r->data, r->size, frame, sizeof(frame),
			&len) < 0) {
		log_msg("reply of %zu bytes does not fit a frame", r->size);
		return;
	}
	/* A bit flipped on the line: the host sees a bad data checksum. */
	if (s->garble) {
		s->garble--;
		s->garbled++;
		frame[len - 2] ^= 0x5a;
	}
	queue_tx(s, frame, len, (uint64_t)r->air_usec * NSEC_PER_USEC, true);
}

/* Moves frames whose time has come into the output buffer. */
static void flush_due(struct sim *s, uint64_t now)
{
	size_t done = 0;

	while (done < s->queued && s->queue[done].due_nsec <= now) {
		const struct tx *t = &s->queue[done++];

		if (s->out_size + t->size > sizeof(s->out)) {
			log_msg("host is not reading: dropped a %zu-byte frame",
				t->size);
			continue;
		}
		memcpy(s->out + s->out_size, t->bytes, t->size);
		s->out_size += t->size;
	}
	memmove(s->queue, s->queue + done,
		(s->queued - done) * sizeof(*s->queue));
	s->queued -= done;
}

static int write_out(struct sim *s)
{
	ssize_t n;

	if (s->out_size == 0)
		return 0;
	n = write(s->master, s->out, s->out_size);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	memmove(s->out, s->out + n, s->out_size - (size_t)n);
	s->out_size -= (size_t)n;
	return 0;
}

static int arm_timer(struct sim *s)
{
	struct itimerspec its = { 0 };
	uint64_t next = 0;

	if (s->queued)
		next = s->queue[0].due_nsec;
	if (s->wait_deadline_nsec && (!next || s->wait_deadline_nsec < next))
		next = s->wait_deadline_nsec;
	/* An absolute time of 0 would disarm: round "at once" up to 1 ns. */
	if (s->queued && next == 0)
		next = 1;
	its.it_value.tv_sec = (time_t)(next / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(next % NSEC_PER_SEC);
	if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

/* The host aborted, or a new command ends the running one. */
static void abort_running(struct sim *s)
{
	chip_abort(s->chip);
	queue_clear(s);
	s->wait_deadline_nsec = 0;
}

static void answer_command(struct sim *s, const struct frame_event *ev)
{
	struct chip_reply r;
	const char *name;

	abort_running(s);
	log_bytes("host:", ev->tfi, ev->data, ev->size);
	if (ev->tfi != FRAME_TFI_HOST) {
		log_msg("frame with TFI %02X instead of D4: syntax error",
			ev->tfi);
		queue_tx(s, frame_ack, sizeof(frame_ack), 0, false);
		queue_tx(s, frame_syntax_error, sizeof(frame_syntax_error), 0,
			 true);
		return;
	}
	chip_command(s->chip, ev->data, ev->size, &r);
	queue_tx(s, frame_ack, sizeof(frame_ack), 0, false);
	switch (r.verdict) {
	case CHIP_VERDICT_REPLY:
		queue_reply(s, &r);
		break;
	case CHIP_VERDICT_WAIT:
		if (r.wait_usec)
			s->wait_deadline_nsec =
				now_nsec() + r.wait_usec * NSEC_PER_USEC;
		break;
	case CHIP_VERDICT_UNSUPPORTED:
		s->unsupported++;
		name = chip_command_name(ev->data[0]);
		log_msg("command %02X (%s) unsupported: %s; answered with a syntax error",
			ev->data[0], name ? name : "unknown", r.why);
		queue_tx(s, frame_syntax_error, sizeof(frame_syntax_error), 0,
			 true);
		break;
	case CHIP_VERDICT_SYNTAX_ERROR:
		log_msg("syntax error: %s", r.why);
		queue_tx(s, frame_syntax_error, sizeof(frame_syntax_error), 0,
			 true);
		break;
	}
}

static void handle_event(struct sim *s, const struct frame_event *ev)
{
	switch (ev->type) {
	case FRAME_EVENT_NONE:
		break;
	case FRAME_EVENT_INFO:
		s->frames++;
		if (s->drop) {
			/* Lost on the way: no ACK, no reply. */
			s->drop--;
			s->dropped++;
			break;
		}
		answer_command(s, ev);
		break;
	case FRAME_EVENT_ACK:
		/* After a reply an ACK means nothing; before, it aborts. */
		if (chip_is_waiting(s->chip) || s->queued) {
			if (verbose)
				log_msg("host aborted the running command");
			abort_running(s);
		}
		break;
	case FRAME_EVENT_NACK:
		if (s->queued == 0 && s->last_reply_size) {
			if (verbose)
				log_msg("host NACK: sending the last reply again");
			queue_tx(s, s->last_reply, s->last_reply_size, 0, true);
		}
		break;
	/*
	 * A frame the chip cannot trust gets no ACK at all: the manual has
	 * the host resend a command whose ACK does not come; NACK and the
	 * error frame are for other cases (host side, application level).
	 */
	case FRAME_EVENT_BAD_LCS:
		s->bad_frames++;
		log_msg("ignored a frame with a bad length checksum");
		break;
	case FRAME_EVENT_BAD_DCS:
		s->bad_frames++;
		log_msg("ignored a frame with a bad data checksum");
		break;
	case FRAME_EVENT_BAD_LENGTH:
		s->bad_frames++;
		log_msg("ignored a frame of length 0");
		break;
	case FRAME_EVENT_TOO_LONG:
		s->bad_frames++;
		log_msg("ignored a frame longer than the chip's %d bytes",
			FRAME_DATA_MAX);
		break;
	}
}

static int read_host(struct sim *s)
{
	uint8_t buf[READ_CHUNK];
	size_t at = 0;
	ssize_t n;

	n = read(s->master, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (s->hung)
		return 0; /* a chip that stopped answering hears nothing */
	if (s->opt.realistic)
		s->rx_free_nsec = max_u64(now_nsec(), s->rx_free_nsec) +
				  (uint64_t)n * UART_BYTE_NSEC;
	/*
	 * A sleeping chip wakes on the first byte's edge and loses that byte;
	 * libnfc's 55 55 00... wake-up is made for exactly that.
	 */
	if (n > 0 && chip_get_power(s->chip) != CHIP_POWER_NORMAL) {
		if (verbose)
			log_msg("woken up by the host");
		chip_wake(s->chip);
		frame_parser_reset(s->parser);
		at = 1;
	}
	while (at < (size_t)n) {
		struct frame_event ev;

		at += frame_parser_feed(s->parser, buf + at, (size_t)n - at,
					&ev);
		handle_event(s, &ev);
	}
	return 0;
}

static void on_timer(struct sim *s)
{
	struct chip_reply r;
	uint64_t expirations;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		log_msg("timer: %s", strerror(errno));
	if (s->wait_deadline_nsec && now_nsec() >= s->wait_deadline_nsec) {
		s->wait_deadline_nsec = 0;
		chip_expire(s->chip, &r);
		queue_reply(s, &r);
	}
}

/* --- the control socket ------------------------------------------------ */

static void card_changed(struct sim *s)
{
	struct chip_reply r;

	if (!s->hung && chip_is_waiting(s->chip) &&
	    chip_resume(s->chip, &r) == 0) {
		s->wait_deadline_nsec = 0;
		queue_reply(s, &r);
	}
}

static void control_tap(struct sim *s, const char *arg, char *reply,
			size_t reply_size)
{
	uint8_t uid[CHIP_UID_MAX];
	char hex[2 * CHIP_UID_MAX + 1];
	uint64_t placed_nsec;
	size_t size;

	if (!arg || parse_uid(arg, uid, &size) < 0) {
		snprintf(
			reply, reply_size,
			"error tap needs a UID of 4, 7 or 10 bytes in hex, e.g. 04A1B2C3D4E5F6");
		return;
	}
	if (chip_place_card(s->chip, uid, size) < 0) {
		snprintf(reply, reply_size,
			 "error a UID cannot start with 88, the cascade tag");
		return;
	}
	/*
	 * CLOCK_MONOTONIC is the same clock in every process: the benchmarks
	 * time a tap from here to the lock pulse the kiosk starts.
	 */
	placed_nsec = now_nsec();
	format_uid(uid, size, hex);
	if (verbose)
		log_msg("card %s placed on the reader", hex);
	card_changed(s);
	snprintf(reply, reply_size,
		 "ok card %s on the reader placed_ns=%" PRIu64, hex,
		 placed_nsec);
}

static void control_remove(struct sim *s, char *reply, size_t reply_size)
{
	uint8_t uid[CHIP_UID_MAX];
	size_t size = chip_get_card(s->chip, uid);

	chip_remove_card(s->chip);
	if (verbose && size)
		log_msg("card taken off the reader");
	snprintf(reply, reply_size, "ok %s",
		 size ? "card removed" : "no card was on the reader");
}

/*
 * Faults: "garble N" sends the next N replies with a broken data checksum,
 * "drop N" ignores the next N commands (no ACK, no reply), "hang" stops
 * the chip answering anything (a command under way is lost), "answer"
 * ends that, and "fault none" ends them all.
 */
static void control_fault(struct sim *s, const char *cmd, const char *arg,
			  char *reply, size_t reply_size)
{
	unsigned long n = 0;
	char *end = NULL;

	if (strcmp(cmd, "garble") == 0 || strcmp(cmd, "drop") == 0) {
		if (arg)
			n = strtoul(arg, &end, 10);
		if (!arg || !*arg || *end || n == 0 || n > 1000000) {
			snprintf(reply, reply_size,
				 "error %s needs a count 1..1000000", cmd);
			return;
		}
		if (cmd[0] == 'g')
			s->garble = n;
		else
			s->drop = n;
		snprintf(reply, reply_size, "ok %s the next %lu %s",
			 cmd[0] == 'g' ? "garbling" : "dropping", n,
			 cmd[0] == 'g' ? "replies" : "commands");
		return;
	}
	if (strcmp(cmd, "hang") == 0) {
		s->hung = true;
		abort_running(s);
		s->out_size = 0;
		if (verbose)
			log_msg("hung: answering nothing until told to");
		snprintf(reply, reply_size, "ok the chip answers nothing");
		return;
	}
	s->hung = false;
	frame_parser_reset(s->parser); /* a frame cut short meanwhile */
	if (strcmp(cmd, "fault") == 0)
		s->garble = s->drop = 0;
	if (verbose)
		log_msg("answering again");
	snprintf(reply, reply_size, "ok the chip answers");
}

static void control_status(struct sim *s, char *reply, size_t reply_size)
{
	static const char *const power[] = {
		[CHIP_POWER_LOW_VBAT] = "low-vbat",
		[CHIP_POWER_NORMAL] = "normal",
		[CHIP_POWER_DOWN] = "power-down",
	};
	uint8_t uid[CHIP_UID_MAX];
	char hex[2 * CHIP_UID_MAX + 1];
	size_t size = chip_get_card(s->chip, uid);
	const char *waiting = chip_get_waiting_name(s->chip);

	format_uid(uid, size, hex);
	snprintf(
		reply, reply_size,
		"ok card=%s power=%s field=%s waiting=%s frames=%lu bad_frames=%lu unsupported=%lu hung=%s garbled=%lu dropped=%lu",
		size ? hex : "none", power[chip_get_power(s->chip)],
		chip_field_is_on(s->chip) ? "on" : "off",
		waiting ? waiting : "none", s->frames, s->bad_frames,
		s->unsupported, s->hung ? "yes" : "no", s->garbled, s->dropped);
}

/* One request line in, one reply line (without newline) out. */
static void control_command(struct sim *s, char *line, char *reply,
			    size_t reply_size)
{
	char *save = NULL, *cmd, *arg = NULL, *extra = NULL;

	line[strcspn(line, "\r")] = '\0';
	cmd = strtok_r(line, " \t", &save);
	if (cmd)
		arg = strtok_r(NULL, " \t", &save);
	if (arg)
		extra = strtok_r(NULL, " \t", &save);
	if (!cmd) {
		snprintf(reply, reply_size,
			 "error empty command (tap UID, remove, status)");
	} else if (strcmp(cmd, "tap") == 0 && !extra) {
		control_tap(s, arg, reply, reply_size);
	} else if (strcmp(cmd, "remove") == 0 && !arg) {
		control_remove(s, reply, reply_size);
	} else if (strcmp(cmd, "status") == 0 && !arg) {
		control_status(s, reply, reply_size);
	} else if ((strcmp(cmd, "garble") == 0 || strcmp(cmd, "drop") == 0) &&
		   !extra) {
		control_fault(s, cmd, arg, reply, reply_size);
	} else if ((strcmp(cmd, "hang") == 0 || strcmp(cmd, "answer") == 0) &&
		   !arg) {
		control_fault(s, cmd, arg, reply, reply_size);
	} else if (strcmp(cmd, "fault") == 0 && arg &&
		   strcmp(arg, "none") == 0 && !extra) {
		control_fault(s, cmd, arg, reply, reply_size);
	} else if (strcmp(cmd, "tap") == 0 || strcmp(cmd, "remove") == 0 ||
		   strcmp(cmd, "status") == 0 || strcmp(cmd, "hang") == 0 ||
		   strcmp(cmd, "answer") == 0) {
		snprintf(reply, reply_size, "error too many arguments to %s",
			 cmd);
	} else {
		snprintf(
			reply, reply_size,
			"error unknown command '%.32s' (tap UID, remove, status, garble N, drop N, hang, answer, fault none)",
			cmd);
	}
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Replies are short and the socket buffer empty: one send suffices. */
static int client_send(struct client *c, const char *reply)
{
	char line[CONTROL_REPLY_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s\n", reply);

	if (n < 0 || (size_t)n >= sizeof(line)) {
		line[sizeof(line) - 2] = '\n';
		n = (int)sizeof(line) - 1;
	}
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		return -EIO;
	return 0;
}

static void client_read(struct sim *s, struct client *c)
{
	char reply[CONTROL_REPLY_MAX + 1];
	ssize_t n;
	char *nl;

	n = recv(c->fd, c->line + c->len, CONTROL_LINE_MAX - c->len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	while ((nl = strchr(c->line, '\n'))) {
		size_t used = (size_t)(nl - c->line) + 1;

		*nl = '\0';
		control_command(s, c->line, reply, sizeof(reply));
		if (client_send(c, reply) < 0) {
			client_close(c);
			return;
		}
		memmove(c->line, c->line + used, c->len - used + 1);
		c->len -= used;
	}
	if (c->len == CONTROL_LINE_MAX) {
		snprintf(reply, sizeof(reply),
			 "error line too long (at most %d bytes)",
			 CONTROL_LINE_MAX);
		client_send(c, reply);
		client_close(c);
	}
}

static void accept_client(struct sim *s)
{
	int fd =
		accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_msg("control: accept: %s", strerror(errno));
		return;
	}
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		if (s->clients[i].fd < 0) {
			s->clients[i].fd = fd;
			s->clients[i].len = 0;
			return;
		}
	}
	{
		struct client busy = { .fd = fd };
		char msg[64];

		snprintf(msg, sizeof(msg),
			 "error too many clients (at most %d)",
			 CONTROL_CLIENTS_MAX);
		client_send(&busy, msg);
		client_close(&busy);
	}
}

/* --- set-up and tear-down ----------------------------------------------- */

static int open_pty(struct sim *s)
{
	struct termios tio;
	int err;

	s->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (s->master < 0)
		return -errno;
	if (grantpt(s->master) < 0 || unlockpt(s->master) < 0)
		return -errno;
	err = ptsname_r(s->master, s->pty_path, sizeof(s->pty_path));
	if (err)
		return -err;
	/*
	 * Our own handle on the far end: without one, reads on the master
	 * fail with EIO whenever no host has the port open.
	 */
	s->slave = open(s->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->slave < 0)
		return -errno;
	if (tcgetattr(s->slave, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	cfsetspeed(&tio, B115200);
	if (tcsetattr(s->slave, TCSANOW, &tio) < 0)
		return -errno;
	return 0;
}

/*
 * Replaces a stale symlink left by a killed simulator: one that points
 * nowhere (or at our own pty, whose number may have been reused). A link to
 * a live device may belong to another simulator, and other files are not
 * ours to remove.
 */
static int make_link(struct sim *s)
{
	char target[PTY_PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(s->opt.link, &st) == 0) {
		if (!S_ISLNK(st.st_mode))
			return -EEXIST;
		n = readlink(s->opt.link, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		if (stat(s->opt.link, &st) == 0 &&
		    strcmp(target, s->pty_path) != 0)
			return -EADDRINUSE;
		if (unlink(s->opt.link) < 0)
			return -errno;
	}
	if (symlink(s->pty_path, s->opt.link) < 0)
		return -errno;
	s->link_made = true;
	return 0;
}

/* A socket file nobody listens on is a killed simulator's: replaced. */
static int remove_stale_socket(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err = 0;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0)
		err = -EADDRINUSE;
	else if (errno != ECONNREFUSED)
		err = -errno;
	close(fd);
	if (err == 0 && unlink(addr->sun_path) < 0)
		err = -errno;
	return err;
}

static int open_control(struct sim *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int err;

	if (strlen(s->opt.control) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, s->opt.control);
	err = remove_stale_socket(&addr);
	if (err < 0)
		return err;
	s->listen_fd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	/* Remembered so that exiting removes this socket and no later one. */
	if (stat(s->opt.control, &st) < 0)
		return -errno;
	s->socket_ino = st.st_ino;
	s->socket_made = true;
	if (listen(s->listen_fd, CONTROL_BACKLOG) < 0)
		return -errno;
	return 0;
}

static int open_signals(struct sim *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	s->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->signal_fd < 0)
		return -errno;
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0)
		return -errno;
	return 0;
}

static void sim_close(struct sim *s)
{
	char target[PTY_PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		client_close(&s->clients[i]);
	if (s->link_made) {
		/* Only if it still points at our pty: never someone else's. */
		n = readlink(s->opt.link, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (strcmp(target, s->pty_path) == 0)
				unlink(s->opt.link);
		}
	}
	if (s->socket_made && stat(s->opt.control, &st) == 0 &&
	    st.st_ino == s->socket_ino)
		unlink(s->opt.control);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->slave >= 0)
		close(s->slave);
	if (s->master >= 0)
		close(s->master);
	frame_parser_free(s->parser);
	chip_free(s->chip);
}

/* Why a path given to us cannot be used. */
static const char *path_error(int err, const char *exists)
{
	if (err == -EEXIST)
		return exists;
	if (err == -EADDRINUSE)
		return "in use by another running pn532-sim";
	return strerror(-err);
}

static int sim_open(struct sim *s)
{
	uint8_t uid[CHIP_UID_MAX];
	size_t size, i;
	int err;

	s->master = s->slave = s->listen_fd = s->signal_fd = s->timer_fd = -1;
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		s->clients[i].fd = -1;
	s->chip = chip_new();
	s->parser = frame_parser_new();
	if (!s->chip || !s->parser) {
		log_msg("out of memory");
		return -ENOMEM;
	}
	if (s->opt.card) {
		if (parse_uid(s->opt.card, uid, &size) < 0 ||
		    chip_place_card(s->chip, uid, size) < 0) {
			log_msg("--card %s: not a UID of 4, 7 or 10 bytes in hex",
				s->opt.card);
			return -EINVAL;
		}
	}
	err = open_signals(s);
	if (err < 0) {
		log_msg("signals and timer: %s", strerror(-err));
		return err;
	}
	err = open_pty(s);
	if (err < 0) {
		log_msg("pseudo-terminal: %s", strerror(-err));
		return err;
	}
	if (s->opt.control) {
		err = open_control(s);
		if (err < 0) {
			log_msg("control socket %s: %s", s->opt.control,
				path_error(err, "exists and is not a socket"));
			return err;
		}
	}
	if (s->opt.link) {
		err = make_link(s);
		if (err < 0) {
			log_msg("link %s: %s", s->opt.link,
				path_error(err, "exists and is not a symlink"));
			return err;
		}
	}
	return 0;
}

static int sim_run(struct sim *s)
{
	struct pollfd fds[4 + CONTROL_CLIENTS_MAX];
	size_t n, i;
	int err;

	printf("%s\nready\n", s->pty_path);
	fflush(stdout);
	while (!s->quit) {
		fds[0] = (struct pollfd){ .fd = s->master, .events = POLLIN };
		if (s->out_size)
			fds[0].events |= POLLOUT;
		fds[1] =
			(struct pollfd){ .fd = s->signal_fd, .events = POLLIN };
		fds[2] = (struct pollfd){ .fd = s->timer_fd, .events = POLLIN };
		fds[3] =
			(struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		n = 4;
		for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
			fds[n++] = (struct pollfd){ .fd = s->clients[i].fd,
						    .events = POLLIN };
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg("poll: %s", strerror(errno));
			return -errno;
		}
		if (fds[1].revents & POLLIN)
			s->quit = true;
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			err = read_host(s);
			if (err < 0) {
				log_msg("pty: %s", strerror(-err));
				return err;
			}
		}
		if (fds[2].revents & POLLIN)
			on_timer(s);
		if (fds[3].revents & POLLIN)
			accept_client(s);
		for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
			if (fds[4 + i].revents & (POLLIN | POLLHUP | POLLERR) &&
			    s->clients[i].fd >= 0)
				client_read(s, &s->clients[i]);
		flush_due(s, s->opt.realistic ? now_nsec() : UINT64_MAX);
		err = write_out(s);
		if (err == 0)
			err = arm_timer(s);
		if (err < 0) {
			log_msg("pty: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

/* --- the client -------------------------------------------------------- */

static int run_client(const char *path, int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char line[CONTROL_LINE_MAX + 2], reply[CONTROL_REPLY_MAX + 2];
	struct pollfd pfd;
	size_t len = 0, got = 0;
	int fd, i, rc;
	ssize_t n;

	for (i = 0; i < argc; i++) {
		int w = snprintf(line + len, sizeof(line) - len, "%s%s",
				 i ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(line) - len - 1)
			return usage_error("command too long");
		len += (size_t)w;
	}
	line[len++] = '\n';
	if (strlen(path) >= sizeof(addr.sun_path))
		return usage_error("control socket path too long");
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "pn532-sim: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_REFUSED;
	}
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "pn532-sim: %s: send failed\n", path);
		close(fd);
		return EXIT_REFUSED;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (got < sizeof(reply) - 1 && !memchr(reply, '\n', got)) {
		rc = poll(&pfd, 1, CLIENT_REPLY_TIMEOUT_MS);
		if (rc <= 0) {
			fprintf(stderr,
				"pn532-sim: %s: no reply within %d ms\n", path,
				CLIENT_REPLY_TIMEOUT_MS);
			close(fd);
			return EXIT_REFUSED;
		}
		n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (strncmp(reply, "ok", 2) == 0) {
		puts(reply);
		return EXIT_OK;
	}
	fprintf(stderr, "pn532-sim: %s\n", got ? reply : "connection closed");
	return EXIT_REFUSED;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "link", required_argument, NULL, 'l' },
		{ "control", required_argument, NULL, 'c' },
		{ "card", required_argument, NULL, 'C' },
		{ "realistic-timing", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sim s = { 0 };
	int opt, err;

	while ((opt = getopt_long(argc, argv, "+l:c:rvh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'l':
			s.opt.link = optarg;
			break;
		case 'c':
			s.opt.control = optarg;
			break;
		case 'C':
			s.opt.card = optarg;
			break;
		case 'r':
			s.opt.realistic = true;
			break;
		case 'v':
			s.opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return usage_error("unknown option");
		}
	}
	verbose = s.opt.verbose;
	if (optind < argc) {
		if (!s.opt.control)
			return usage_error("a command needs --control SOCKET");
		if (s.opt.link || s.opt.card || s.opt.realistic)
			return usage_error(
				"--link, --card and --realistic-timing are for the simulator, not for commands");
		return run_client(s.opt.control, argc - optind, argv + optind);
	}
	err = sim_open(&s);
	if (err == 0)
		err = sim_run(&s);
	sim_close(&s);
	return err < 0 ? EXIT_FAILURE : EXIT_OK;
}
