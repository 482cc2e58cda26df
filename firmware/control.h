/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a UNIX stream socket speaking JSON lines, one request
 * object per line, one reply object per line, in order. A client's next
 * request is read once its last reply is sent, and one request is answered
 * per loop iteration, so that no client holds up the loop.
 */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#define CONTROL_CLIENTS_MAX 16
#define CONTROL_LINE_MAX    (64 * 1024)
/* A longer reply is replaced by an EMSGSIZE error reply. */
#define CONTROL_OUTPUT_MAX (1024 * 1024)
/*
 * A client that neither sends nor takes a byte for this long is dropped:
 * silent clients must not keep the slots from lokerctl for ever.
 */
#define CONTROL_IDLE_TIMEOUT_S 30
/* "uid=4294967294,user=<32 bytes>,pid=2147483647": 67; the actor it
 * goes into takes KIOSK_ACTOR_MAX - 8 (71). */
#define CONTROL_PEER_MAX 71

/*
 * Answers one request; returns a new reference to the reply object, or NULL
 * for "out of memory". The request is borrowed.
 */
typedef json_t *(*control_handler_t)(json_t *request, void *userdata);

/*
 * Listens on path (mode 0660; a stale socket left by a dead process is
 * replaced, a live one is not: -EADDRINUSE). Returns NULL with errno set.
 * The caller frees it with control_free(), which closes every client and
 * removes the socket file.
 */
struct control *control_new(sd_event *event, const char *path,
			    control_handler_t handler, void *userdata);
void control_free(struct control *c);

/*
 * Called from within the handler: the request it has is answered later,
 * by control_reply_send(), for work that must not hold up the loop; what
 * the handler returns is dropped, and the client's next request waits.
 * Returns NULL with errno set: ENOTCONN outside this socket's handler.
 */
struct control_reply *control_defer(struct control *c);
/*
 * Sends reply (consumed; NULL drops the client) to the client that asked,
 * if it is still connected, and frees r. Call it before control_free().
 */
void control_reply_send(struct control_reply *r, json_t *reply);

/*
 * Called from within the handler: who sent the request it has, from the
 * socket's peer credentials, as "uid=1000,user=alice,pid=4242" (user left
 * out for a uid without a name). NULL outside this socket's handler.
 */
const char *control_get_peer(const struct control *c);

/* A reply {"ok":false,"error":message,"errno":name}; new reference. */
json_t *control_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
