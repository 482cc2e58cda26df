/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A bounded queue of fixed-size events with an eventfd that is readable
 * while the queue is not empty: how simulated devices hand events to the
 * event loop through the same kind of fd a real device has. One thread may
 * push while another pops.
 */
#pragma once

#include <stddef.h>

struct evqueue;

/* Returns NULL with errno set. The caller frees it with evqueue_free(). */
struct evqueue *evqueue_new(size_t elem_size, unsigned capacity);
void evqueue_free(struct evqueue *q);
/* Owned by q. */
int evqueue_get_fd(const struct evqueue *q);
/* 0, or -ENOBUFS when full (the event is dropped). */
int evqueue_push(struct evqueue *q, const void *elem);
/* 0, or -EAGAIN when empty. */
int evqueue_pop(struct evqueue *q, void *ret_elem);
