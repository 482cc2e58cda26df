/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PIN checks off the event loop: a thread, and an eventfd for the answers. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pincheck.h"

/* Answers not yet taken; the loop takes each one as it comes. */
#define PINCHECK_ANSWERS_MAX 4

struct pincheck_answer {
	uint64_t id;
	unsigned matched;
};

struct pincheck {
	int fd; /* eventfd (semaphore): one count per answer */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* Under lock: */
	bool stopping;
	bool waiting; /* next holds a check */
	struct kiosk_pin_check next;
	struct pincheck_answer answers[PINCHECK_ANSWERS_MAX];
	unsigned n_answers;
};

static void *run(void *userdata)
{
	struct pincheck *p = userdata;
	struct kiosk_pin_check c;
	uint64_t one = 1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		unsigned matched;

		while (!p->waiting && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stopping)
			break;
		c = p->next;
		explicit_bzero(&p->next, sizeof(p->next));
		p->waiting = false;
		pthread_mutex_unlock(&p->lock);

		matched = kiosk_pin_check_verify(&c);
		explicit_bzero(c.pin, sizeof(c.pin));
		/*
		 * OpenSSL's state of this thread, which PBKDF2 made, goes
		 * after each check: an idle thread holds none.
		 */
		OPENSSL_thread_stop();

		pthread_mutex_lock(&p->lock);
		/* The oldest goes when the loop has not taken four. */
		if (p->n_answers == PINCHECK_ANSWERS_MAX) {
			memmove(p->answers, p->answers + 1,
				(PINCHECK_ANSWERS_MAX - 1) *
					sizeof(p->answers[0]));
			p->n_answers--;
		} else {
			(void)!write(p->fd, &one, sizeof(one));
		}
		p->answers[p->n_answers++] =
			(struct pincheck_answer){ .id = c.id,
						  .matched = matched };
	}
	pthread_mutex_unlock(&p->lock);
	explicit_bzero(&c, sizeof(c));
	return NULL;
}

struct pincheck *pincheck_new(void)
{
	struct pincheck *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (p->fd < 0) {
		err = errno;
		goto fail;
	}
	err = pthread_create(&p->thread, NULL, run, p);
	if (err)
		goto fail;
	p->started = true;
	return p;
fail:
	pincheck_free(p);
	errno = err;
	return NULL;
}

void pincheck_free(struct pincheck *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	if (p->fd >= 0)
		close(p->fd);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	explicit_bzero(&p->next, sizeof(p->next));
	free(p);
}

int pincheck_get_fd(const struct pincheck *p)
{
	return p->fd;
}

int pincheck_submit(struct pincheck *p, const struct kiosk_pin_check *c)
{
	if (!p || !c || c->n_hashes > KIOSK_PIN_HASHES_TRIED_MAX)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->next = *c;
	p->waiting = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int pincheck_take(struct pincheck *p, uint64_t *ret_id, unsigned *ret_matched)
{
	uint64_t v;
	int r = -EAGAIN;

	if (read(p->fd, &v, sizeof(v)) != sizeof(v))
		return -EAGAIN;
	pthread_mutex_lock(&p->lock);
	if (p->n_answers) {
		*ret_id = p->answers[0].id;
		*ret_matched = p->answers[0].matched;
		memmove(p->answers, p->answers + 1,
			(p->n_answers - 1) * sizeof(p->answers[0]));
		p->n_answers--;
		r = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}
