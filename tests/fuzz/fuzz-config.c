/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for lokerd.conf (firmware/config.c): the input is the
 * file. With an odd first byte a valid [kiosk] head naming a real site key
 * file (and a sync token file) comes first, so the fuzzer gets past the
 * required keys; with an even one the input stands alone. Beyond the
 * sanitizers' findings it aborts when config_load() breaks its contract: a
 * refusal without a message, or a config taken with values
 * outside the ranges the rest of lokerd relies on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int conf_fd = -1;
static char conf_path[64], head[512];
static char dir[] = "/tmp/fuzz-config-XXXXXX";

/* The key files go when the fuzzer ends; the memfd needs nothing. */
static void tear_down(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/site.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sync.token", dir);
	unlink(path);
	rmdir(dir);
}

static void set_up(void)
{
	char path[256];
	FILE *f;

	if (!mkdtemp(dir))
		abort();
	atexit(tear_down);
	snprintf(path, sizeof(path), "%s/site.key", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
	      f);
	fclose(f);
	chmod(path, 0600);
	snprintf(head, sizeof(head),
		 "[kiosk]\nid = fuzz-01\nsite_key_file = %s\n", path);
	snprintf(path, sizeof(path), "%s/sync.token", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	chmod(path, 0600);
	/* The fuzzer may name it as token_file = /tmp/fuzz-config-.../sync.token. */
	conf_fd = memfd_create("lokerd.conf", MFD_CLOEXEC);
	if (conf_fd < 0)
		abort();
	snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char error[CONFIG_ERROR_MAX];
	size_t head_len = 0;
	int err;

	if (conf_fd < 0)
		set_up();
	if (size < 1)
		return 0;
	if (ftruncate(conf_fd, 0) < 0)
		abort();
	if (data[0] & 1) {
		head_len = strlen(head);
		if (pwrite(conf_fd, head, head_len, 0) != (ssize_t)head_len)
			abort();
	}
	if (size > 1 && pwrite(conf_fd, data + 1, size - 1, (off_t)head_len) !=
				(ssize_t)(size - 1))
		abort();

	memset(error, 0, sizeof(error));
	err = config_load(conf_path, &c, error);
	if (err < 0) {
		/* Every refusal says why. */
		if (!memchr(error, '\0', sizeof(error)) || !error[0])
			abort();
		return 0;
	}
	if (err != 0 || c.kiosk.n_lockers < 1 ||
	    c.kiosk.n_lockers > KIOSK_LOCKERS_MAX ||
	    c.kiosk.site_key_len < CONFIG_SITE_KEY_MIN ||
	    c.kiosk.site_key_len > CONFIG_SITE_KEY_MAX || !c.kiosk_id[0] ||
	    c.kiosk.pin_max_attempts < 1 || c.kiosk.max_holds < 1 ||
	    (c.sync.url[0] &&
	     (strncmp(c.sync.url, "https://", 8) != 0 || !c.sync.token[0])) ||
	    (c.sync.batch_size < 1 || c.sync.batch_size > 500))
		abort();
	for (unsigned i = 0; i < c.kiosk.n_lockers; i++)
		if (c.lockers[i].pulse_ms < 1 ||
		    c.lockers[i].pulse_ms * 1000ULL >=
			    c.kiosk.door_confirm_timeout_usec)
			abort();
	return 0;
}
