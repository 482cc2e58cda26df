// SPDX-License-Identifier: GPL-2.0-or-later
/* A bounded event queue signalled through an eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evqueue.h"

struct evqueue {
	pthread_mutex_t lock; /* a device thread pushes, the loop pops */
	int fd;
	size_t elem_size;
	unsigned capacity, head, len;
	unsigned char *elems;
};

struct evqueue *evqueue_new(size_t elem_size, unsigned capacity)
{
	struct evqueue *q;

	if (elem_size == 0 || capacity == 0) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->elems = calloc(capacity, elem_size);
	if (!q->elems) {
		free(q);
		return NULL;
	}
	/* Semaphore mode: each read takes one count, one per queued event. */
	q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (q->fd < 0) {
		int e = errno;

		free(q->elems);
		free(q);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->elem_size = elem_size;
	q->capacity = capacity;
	return q;
}

void evqueue_free(struct evqueue *q)
{
	if (!q)
		return;
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q->elems);
	free(q);
}

int evqueue_get_fd(const struct evqueue *q)
{
	return q->fd;
}

int evqueue_push(struct evqueue *q, const void *elem)
{
	uint64_t one = 1;
	unsigned tail;
	int err = 0;

	pthread_mutex_lock(&q->lock);
	/* Count first: the fd's count must never fall behind the queue. */
	if (q->len == q->capacity) {
		err = -ENOBUFS;
	} else if (write(q->fd, &one, sizeof(one)) != sizeof(one)) {
		err = -errno;
	} else {
		tail = (q->head + q->len) % q->capacity;
		memcpy(q->elems + (size_t)tail * q->elem_size, elem,
		       q->elem_size);
		q->len++;
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

int evqueue_pop(struct evqueue *q, void *ret_elem)
{
	uint64_t v;
	int err = 0;

	pthread_mutex_lock(&q->lock);
	/* Keep the fd's count equal to the queue length. */
	if (q->len == 0) {
		err = -EAGAIN;
	} else if (read(q->fd, &v, sizeof(v)) != sizeof(v)) {
		err = -errno;
	} else {
		memcpy(ret_elem, q->elems + (size_t)q->head * q->elem_size,
		       q->elem_size);
		q->head = (q->head + 1) % q->capacity;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}
