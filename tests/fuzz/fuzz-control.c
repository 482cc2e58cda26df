/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the control socket (firmware/control.c) and every
 * command lokerd answers on it (firmware/daemon.c): a whole lokerd with the
 * simulated reader and lock bank and a database on tmpfs, one connection
 * per input, the input written to it as it is. Beyond the sanitizers'
 * findings it aborts when the contract of docs/control-socket.md breaks:
 * a reply line that is not a JSON object with "ok", a refusal without
 * "error", or a connection that neither answers nor closes. Inputs
 * naming the backup command are skipped: it writes files.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

#define LOOP_TURNS_MAX 2000
#define REPLY_MAX      (2 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sd_event *event;
static struct daemon *lokerd;
static char dir[] = "/dev/shm/fuzz-control-XXXXXX";
static char socket_path[128];
static char *reply;

static void tear_down(void)
{
	char path[256];
	static const char *const files[] = { "lokerd.db", "lokerd.db-wal",
					     "lokerd.db-shm", "site.key",
					     "lokerd.conf" };

	daemon_free(lokerd);
	sd_event_unref(event);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	free(reply);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void set_up(void)
{
	static struct config c;
	char path[256], key[256], conf[1024], error[CONFIG_ERROR_MAX];

	if (!mkdtemp(dir))
		abort();
	atexit(tear_down);
	log_set_level(LOG_CRIT); /* every refusal is logged; not needed here */
	snprintf(key, sizeof(key), "%s/site.key", dir);
	write_text(
		key,
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		0600);
	snprintf(socket_path, sizeof(socket_path), "%s/control.sock", dir);
	snprintf(conf, sizeof(conf),
		 "[kiosk]\nid = fuzz-01\nsite_key_file = %s\n"
		 "database = %s/lokerd.db\ncontrol_socket = %s\n"
		 "[lockers]\ncount = 6\nmedium = 4-5\nreturn = 6\n"
		 "[lockbank]\nbackend = sim\n[reader]\nbackend = sim\n",
		 key, dir, socket_path);
	snprintf(path, sizeof(path), "%s/lokerd.conf", dir);
	write_text(path, conf, 0600);
	if (config_load(path, &c, error) < 0) {
		fprintf(stderr, "fuzz-control: %s\n", error);
		abort();
	}
	if (sd_event_new(&event) < 0)
		abort();
	lokerd = daemon_new(&c, event);
	reply = malloc(REPLY_MAX + 1);
	if (!lokerd || !reply)
		abort();
}

/* Every reply line is an object with "ok"; a refusal says why. */
static void check_replies(char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *r = json_loads(line, 0, NULL);
		json_t *ok = json_object_get(r, "ok");

		if (!json_is_object(r) || !json_is_boolean(ok))
			abort();
		if (json_is_false(ok) &&
		    !json_is_string(json_object_get(r, "error")))
			abort();
		json_decref(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t sent = 0, got = 0;
	bool closed = false, shut = false;
	int fd;

	if (!lokerd)
		set_up();
	/* backup writes files where it is told: not the fuzzer's to choose. */
	if (memmem(data, size, "backup", 6))
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	for (unsigned turn = 0; turn < LOOP_TURNS_MAX && !closed; turn++) {
		ssize_t n;

		if (sent < size) {
			n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = size; /* lokerd hung up: fine */
		}
		if (sent == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		/*
		 * Once all is sent, a turn may wait for what check does on the
		 * store's thread: its reply comes when the thread reports.
		 */
		sd_event_run(event, shut ? 1000 : 0);
		for (;;) {
			n = read(fd, reply + got, REPLY_MAX - got);
			if (n > 0 && got + (size_t)n < REPLY_MAX) {
				got += (size_t)n;
				continue;
			}
			if (n == 0 || (n < 0 && errno != EAGAIN))
				closed = true;
			if (n > 0) /* past any reply lokerd may make */
				abort();
			break;
		}
	}
	close(fd);
	/* Half-closed by us, lokerd answers what it read, then closes. */
	if (!closed)
		abort();
	reply[got] = '\0';
	check_replies(reply);
	return 0;
}
