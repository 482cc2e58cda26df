// SPDX-License-Identifier: GPL-2.0-or-later
/* What a request to the web UI asks for, and whether it may be answered. */
#include <string.h>
#include <strings.h>

#include "kiosk.h"
#include "protocol.h"
#include "webui-request.h"

struct file_type {
	const char *extension;
	const char *content_type;
};

/* What the app is made of; nothing else in ui_dir is served. */
static const struct file_type file_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".wav", "audio/wav" }, /* the spoken prompts, ui/CMakeLists.txt */
};

static int refuse(int status, const char *why, const char **ret_error)
{
	*ret_error = why;
	return status;
}

static bool is_method(const struct webui_request *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static bool is_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A path of ui_dir: plain names, no hidden files, a type we serve. */
static const char *file_content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t n = strlen(path);

	if (n == 0 || n > WEBUI_REQUEST_PATH_MAX || !dot)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = path[i];
		bool segment_start = i == 0 || path[i - 1] == '/';

		if (segment_start && (c == '.' || c == '/'))
			return NULL; /* "..", ".hidden", "//" */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '/'))
			return NULL;
	}
	for (size_t i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
		if (strcmp(dot, file_types[i].extension) == 0)
			return file_types[i].content_type;
	return NULL;
}

/* True when obj has no key but those listed (a NULL-ended list). */
static bool only_keys(json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *const *k = keys;

		while (*k && strcmp(*k, key) != 0)
			k++;
		if (!*k)
			return false;
	}
	return true;
}

static const char *string_field(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A locker number 1..KIOSK_LOCKERS_MAX, or 0 when absent and optional. */
static int locker_field(json_t *obj, bool optional, json_int_t *ret)
{
	json_t *v = json_object_get(obj, "locker");
	json_int_t n;

	if (!v && optional) {
		*ret = 0;
		return 0;
	}
	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < (optional ? 0 : 1) || n > KIOSK_LOCKERS_MAX)
		return -1;
	*ret = n;
	return 0;
}

/* A scan's "text", the only field beside "action": a barcode or hold id. */
static const char *scan_text(json_t *req, const char **ret_error)
{
	static const char *const with_text[] = { "action", "text", NULL };
	const char *s = string_field(req, "text");

	if (!only_keys(req, with_text) || !s ||
	    !protocol_is_token(s, WEBUI_REQUEST_SCAN_MAX)) {
		*ret_error = "text: 1 to 64 printable characters, no spaces";
		return NULL;
	}
	return s;
}

/*
 * A pickup's "leave": at most KIOSK_SESSION_LOCKERS_MAX holds, each
 * {"hold": id, "items": [barcode, ...]} with at most KIOSK_HOLD_ITEMS_MAX
 * barcodes, the books the patron leaves in the locker.
 */
static bool leave_valid(json_t *leave)
{
	static const char *const hold_keys[] = { "hold", "items", NULL };
	json_t *p, *items, *b;
	size_t i, j;

	if (!json_is_array(leave) ||
	    json_array_size(leave) > KIOSK_SESSION_LOCKERS_MAX)
		return false;
	json_array_foreach(leave, i, p)
	{
		const char *id = string_field(p, "hold");

		items = json_object_get(p, "items");
		if (!json_is_object(p) || !only_keys(p, hold_keys) || !id ||
		    !protocol_is_token(id, KIOSK_HOLD_ID_MAX) ||
		    !json_is_array(items) ||
		    json_array_size(items) > KIOSK_HOLD_ITEMS_MAX)
			return false;
		json_array_foreach(
			items, j,
			b) if (!json_is_string(b) ||
			       !protocol_is_token(
				       json_string_value(b),
				       KIOSK_BARCODE_MAX)) return false;
	}
	return true;
}

static json_t *screen_action(json_t *req, const char *action,
			     const char **ret_error)
{
	static const char *const action_only[] = { "action", NULL };
	static const char *const with_code[] = { "action", "code", NULL };
	static const char *const with_pin[] = { "action", "pin", NULL };
	static const char *const with_hold[] = { "action", "hold", NULL };
	static const char *const with_load[] = { "action", "hold", "locker",
						 NULL };
	static const char *const with_locker[] = { "action", "locker", NULL };
	const char *s;
	json_int_t locker;

	if (strcmp(action, "code") == 0) {
		s = string_field(req, "code");
		if (!only_keys(req, with_code) || !s ||
		    !is_digits(s, CREDENTIAL_CODE_DIGITS_MIN,
			       CREDENTIAL_CODE_DIGITS_MAX))
			goto bad_code;
		return json_pack("{s:s, s:s}", "cmd", "code", "code", s);
	}
	if (strcmp(action, "pin") == 0) {
		s = string_field(req, "pin");
		if (!only_keys(req, with_pin) || !s ||
		    !is_digits(s, PIN_DIGITS_MIN, PIN_DIGITS_MAX))
			goto bad_pin;
		return json_pack("{s:s, s:s}", "cmd", "pin", "pin", s);
	}
	if (strcmp(action, "pickup") == 0) {
		static const char *const with_leave[] = { "action", "leave",
							  NULL };
		json_t *leave = json_object_get(req, "leave");

		if (!only_keys(req, with_leave) ||
		    (leave && !leave_valid(leave))) {
			*ret_error = "leave: at most 16 of {\"hold\": id, "
				     "\"items\": [barcode, ...]}";
			return NULL;
		}
		return json_pack("{s:s, s:O*}", "cmd", "pickup", "leave",
				 leave);
	}
	if (strcmp(action, "return") == 0 || strcmp(action, "cancel") == 0) {
		if (!only_keys(req, action_only))
			goto bad_fields;
		return json_pack("{s:s}", "cmd", action);
	}
	/* Staff actions: as the staff member logged in on the screen only. */
	if (strcmp(action, "load") == 0 || strcmp(action, "unload") == 0) {
		bool load = action[0] == 'l';

		s = string_field(req, "hold");
		if (!only_keys(req, load ? with_load : with_hold) || !s ||
		    !protocol_is_token(s, KIOSK_HOLD_ID_MAX) ||
		    locker_field(req, true, &locker) < 0)
			goto bad_hold;
		if (load)
			return json_pack("{s:s, s:s, s:I, s:b}", "cmd", "load",
					 "hold", s, "locker", locker, "session",
					 1);
		return json_pack("{s:s, s:s, s:b}", "cmd", "unload", "hold", s,
				 "session", 1);
	}
	if (strcmp(action, "open") == 0 || strcmp(action, "disable") == 0 ||
	    strcmp(action, "enable") == 0) {
		if (!only_keys(req, with_locker) ||
		    locker_field(req, false, &locker) < 0)
			goto bad_locker;
		return json_pack("{s:s, s:I, s:b}", "cmd", action, "locker",
				 locker, "session", 1);
	}
	if (strcmp(action, "scan") == 0) {
		s = scan_text(req, ret_error);
		if (!s)
			return NULL;
		return json_pack("{s:s, s:s, s:b}", "cmd", "scan", "text", s,
				 "session", 1);
	}
	*ret_error = "unknown action";
	return NULL;
bad_code:
	*ret_error = "code: 6 to 12 digits, and nothing else";
	return NULL;
bad_pin:
	*ret_error = "pin: 4 to 8 digits, and nothing else";
	return NULL;
bad_fields:
	*ret_error = "no fields but \"action\"";
	return NULL;
bad_hold:
	*ret_error = "hold: a hold's id; locker: a number, optional for load";
	return NULL;
bad_locker:
	*ret_error = "locker: a locker's number, and nothing else";
	return NULL;
}

static json_t *sim_action(json_t *req, const char *action,
			  const char **ret_error)
{
	static const char *const with_credential[] = { "action", "credential",
						       NULL };
	static const char *const with_door[] = { "action", "locker", "open",
						 NULL };
	const char *s;
	json_int_t locker;

	if (strcmp(action, "tap") == 0) {
		s = string_field(req, "credential");
		if (!only_keys(req, with_credential) || !s ||
		    !protocol_is_token(s, CREDENTIAL_MAX)) {
			*ret_error =
				"credential: a card, as uid:04A1B2C3D4E5F6";
			return NULL;
		}
		return json_pack("{s:s, s:s}", "cmd", "sim-tap", "credential",
				 s);
	}
	if (strcmp(action, "door") == 0) {
		json_t *open = json_object_get(req, "open");

		if (!only_keys(req, with_door) ||
		    locker_field(req, false, &locker) < 0 ||
		    !json_is_boolean(open)) {
			*ret_error = "locker: a number; open: true or false";
			return NULL;
		}
		return json_pack("{s:s, s:I, s:O}", "cmd", "sim-door", "locker",
				 locker, "open", open);
	}
	if (strcmp(action, "scan") == 0) {
		s = scan_text(req, ret_error);
		if (!s)
			return NULL;
		return json_pack("{s:s, s:s}", "cmd", "sim-scan", "text", s);
	}
	*ret_error = "unknown action";
	return NULL;
}

/* POST /api/action and /api/sim: a JSON object naming its action. */
static int decide_post(const struct webui_request *r, bool sim,
		       struct webui_request_answer *ret, const char **ret_error)
{
	const char *type = r->content_type, *action;
	json_t *req, *command;

	if (!is_method(r, "POST"))
		return refuse(405, "POST only", ret_error);
	/* Patron or staff: every action is the screen's alone. */
	if (!r->screen)
		return refuse(403, "only the kiosk's screen may act",
			      ret_error);
	/* Only a same-origin page may send JSON without a CORS preflight. */
	if (!type || strncasecmp(type, "application/json", 16) != 0 ||
	    (type[16] != '\0' && type[16] != ';' && type[16] != ' '))
		return refuse(415, "Content-Type must be application/json",
			      ret_error);
	if (r->body_len > WEBUI_REQUEST_BODY_MAX)
		return refuse(413, "the body is larger than 4096 bytes",
			      ret_error);
	req = json_loadb(r->body ? r->body : "", r->body_len,
			 JSON_REJECT_DUPLICATES, NULL);
	action = string_field(req, "action");
	if (!json_is_object(req) || !action) {
		json_decref(req);
		return refuse(400,
			      "the body must be a JSON object with \"action\"",
			      ret_error);
	}
	command = sim ? sim_action(req, action, ret_error) :
			screen_action(req, action, ret_error);
	json_decref(req);
	if (!command)
		return 400;
	ret->route = WEBUI_REQUEST_ROUTE_COMMAND;
	ret->command = command;
	return 0;
}

int webui_request_decide(const struct webui_request *r,
			 const struct webui_request_policy *p,
			 struct webui_request_answer *ret,
			 const char **ret_error)
{
	bool get = is_method(r, "GET") || is_method(r, "HEAD");
	const char *path = r->path, *file, *type;
	size_t n;

	/* Against DNS rebinding: a page of another name reaching us. */
	if (!r->host || (strcmp(r->host, p->host) != 0 &&
			 (!p->alt_host || strcmp(r->host, p->alt_host) != 0)))
		return refuse(403, "this Host is not served here", ret_error);
	if (r->origin) {
		n = strlen(r->host);
		if (strncmp(r->origin, "http://", 7) != 0 ||
		    strncmp(r->origin + 7, r->host, n) != 0 ||
		    r->origin[7 + n] != '\0')
			return refuse(403,
				      "requests from other origins are refused",
				      ret_error);
	}
	if (r->sec_fetch_site &&
	    strcmp(r->sec_fetch_site, "same-origin") != 0 &&
	    strcmp(r->sec_fetch_site, "none") != 0)
		return refuse(403, "requests from other sites are refused",
			      ret_error);

	if (strcmp(path, "/api/action") == 0)
		return decide_post(r, false, ret, ret_error);
	if (strcmp(path, "/api/sim") == 0) {
		if (!p->sim)
			return refuse(404, "no simulated hardware here",
				      ret_error);
		return decide_post(r, true, ret, ret_error);
	}
	if (strcmp(path, "/api/state") == 0 ||
	    strcmp(path, "/api/events") == 0) {
		if (!(path[5] == 's' ? get : is_method(r, "GET")))
			return refuse(405, "GET only", ret_error);
		ret->route = path[5] == 's' ? WEBUI_REQUEST_ROUTE_STATE :
					      WEBUI_REQUEST_ROUTE_EVENTS;
		ret->command = NULL;
		return 0;
	}
	if (strncmp(path, "/api/", 5) == 0)
		return refuse(404, "no such API", ret_error);

	if (strcmp(path, "/") == 0)
		file = "index.html";
	else if (strcmp(path, "/sim") == 0 || strcmp(path, "/sim.html") == 0)
		file = p->sim ? "sim.html" : NULL;
	else if (path[0] == '/')
		file = path + 1;
	else
		file = NULL;
	type = file ? file_content_type(file) : NULL;
	if (!type)
		return refuse(404, "no such file", ret_error);
	if (!get)
		return refuse(405, "GET only", ret_error);
	ret->route = WEBUI_REQUEST_ROUTE_FILE;
	memcpy(ret->path, file, strlen(file) + 1);
	ret->content_type = type;
	ret->command = NULL;
	return 0;
}
