// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerd: the locker kiosk daemon. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

/*
 * The exit status when only a person can help (sysexits' EX_CONFIG): a
 * configuration or a database lokerd refuses. lokerd.service does not
 * restart on it, so the reason is logged once, not at every restart.
 */
#define EXIT_NEEDS_PERSON 78

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lokerd [OPTIONS]\n"
		"\n"
		"The lokerbuku locker kiosk daemon.\n"
		"\n"
		"  -c, --config=PATH   configuration file (default %s)\n"
		"      --check-config  check the configuration and exit\n"
		"  -h, --help          show this help\n"
		"      --version       show the version\n",
		CONFIG_DEFAULT_PATH);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
		     void *userdata)
{
	log_notice("SIG%s received: stopping",
		   sigabbrev_np((int)si->ssi_signo) ?: "?");
	sd_notify(0, "STOPPING=1");
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char **argv)
{
	enum {
		OPT_CHECK_CONFIG = 0x100,
		OPT_VERSION
	};
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	const char *config_path = CONFIG_DEFAULT_PATH;
	char error[CONFIG_ERROR_MAX];
	bool check_only = false;
	struct config *config;
	struct daemon *d;
	sd_event *event = NULL;
	sigset_t mask;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case OPT_CHECK_CONFIG:
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("lokerd %s\n", LOKERBUKU_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	/* The database holds PIN hashes: nothing lokerd creates is for others. */
	umask(0027);
	/*
	 * Raw card identifiers, PINs and the site key pass through memory:
	 * no core dump of them, and no other process of lokerd's user may
	 * read it (ptrace, /proc/PID/mem). The unit adds LimitCORE=0.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		log_err("cannot make lokerd undumpable: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	config = malloc(sizeof(*config));
	if (!config) {
		log_err("out of memory");
		return EXIT_FAILURE;
	}
	err = config_load(config_path, config, error);
	if (err < 0) {
		log_err("configuration: %s", error);
		free(config);
		return EXIT_NEEDS_PERSON;
	}
	if (check_only) {
		printf("%s: ok (kiosk %s, %u lockers)\n", config_path,
		       config->kiosk_id, config->kiosk.n_lockers);
		explicit_bzero(config, sizeof(*config));
		free(config);
		return EXIT_SUCCESS;
	}
	log_set_level(config->log_level);
	log_set_kiosk_id(config->kiosk_id);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	err = sd_event_default(&event);
	if (err >= 0)
		err = sd_event_add_signal(event, NULL, SIGTERM, on_signal,
					  NULL);
	/* Whatever asks lokerd to go, it goes with every lock released. */
	if (err >= 0)
		err = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
	if (err >= 0)
		err = sd_event_add_signal(event, NULL, SIGHUP, on_signal, NULL);
	if (err >= 0)
		err = sd_event_add_signal(event, NULL, SIGQUIT, on_signal,
					  NULL);
	/* Pets the systemd watchdog from the loop when WatchdogSec= is set. */
	if (err >= 0)
		err = sd_event_set_watchdog(event, true);
	if (err < 0) {
		log_err("event loop: %s", strerror(-err));
		sd_event_unref(event);
		free(config);
		return EXIT_FAILURE;
	}

	d = daemon_new(config, event);
	/* The site key and the tokens: lokerd keeps its own copies. */
	explicit_bzero(config, sizeof(*config));
	free(config);
	if (!d) {
		/* EILSEQ: the database is corrupt, not ours or newer (logged). */
		err = errno;
		sd_event_unref(event);
		return err == EILSEQ ? EXIT_NEEDS_PERSON : EXIT_FAILURE;
	}
	sd_notify(0, "READY=1\nSTATUS=Waiting for cards");
	log_notice("lokerd %s ready", LOKERBUKU_VERSION);
	err = daemon_run(d);
	daemon_free(d);
	sd_event_unref(event);
	if (err < 0) {
		log_err("event loop failed: %s", strerror(-err));
		return EXIT_FAILURE;
	}
	log_notice("stopped; every lock is de-energised");
	return EXIT_SUCCESS;
}
