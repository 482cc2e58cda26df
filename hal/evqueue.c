// SPDX-License-Identifier: GPL-2.0-or-later
/* A bounded event queue signalled through an eventfd. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evqueue.h"

struct evqueue {
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
	q->elem_size = elem_size;
	q->capacity = capacity;
	return q;
}

void evqueue_free(struct evqueue *q)
{
	if (!q)
		return;
	close(q->fd);
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

	if (q->len == q->capacity)
		return -ENOBUFS;
	/* Count first: the fd's count must never fall behind the queue. */
	if (write(q->fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	tail = (q->head + q->len) % q->capacity;
	memcpy(q->elems + (size_t)tail * q->elem_size, elem, q->elem_size);
	q->len++;
	return 0;
}

int evqueue_pop(struct evqueue *q, void *ret_elem)
{
	uint64_t v;

	if (q->len == 0)
		return -EAGAIN;
	/* Keep the fd's count equal to the queue length. */
	if (read(q->fd, &v, sizeof(v)) != sizeof(v))
		return -errno;
	memcpy(ret_elem, q->elems + (size_t)q->head * q->elem_size,
	       q->elem_size);
	q->head = (q->head + 1) % q->capacity;
	q->len--;
	return 0;
}
