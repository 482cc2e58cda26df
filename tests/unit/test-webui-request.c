// SPDX-License-Identifier: GPL-2.0-or-later
/* Which web UI requests are answered, and as what (firmware/webui-request.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "webui-request.h"

static const struct webui_request_policy policy = {
	.host = "127.0.0.1:8080",
	.alt_host = "localhost:8080",
	.sim = false,
};

static const struct webui_request_policy sim_policy = {
	.host = "127.0.0.1:8080",
	.alt_host = "localhost:8080",
	.sim = true,
};

static struct webui_request get(const char *path)
{
	return (struct webui_request){ .method = "GET",
				       .path = path,
				       .host = "127.0.0.1:8080" };
}

static struct webui_request post(const char *path, const char *body)
{
	return (struct webui_request){ .method = "POST",
				       .path = path,
				       .host = "127.0.0.1:8080",
				       .origin = "http://127.0.0.1:8080",
				       .sec_fetch_site = "same-origin",
				       .content_type = "application/json",
				       .body = body,
				       .body_len = strlen(body),
				       .screen = true };
}

static int decide(const struct webui_request *r,
		  const struct webui_request_policy *p,
		  struct webui_request_answer *a)
{
	const char *why = NULL;
	int status;

	memset(a, 0, sizeof(*a));
	status = webui_request_decide(r, p, a, &why);
	if (status)
		assert_non_null(why);
	return status;
}

/* The control request a screen action becomes, as compact sorted JSON. */
static void assert_command(const char *body, const char *expected)
{
	struct webui_request r = post("/api/action", body);
	struct webui_request_answer a;
	char *text;

	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_int_equal(a.route, WEBUI_REQUEST_ROUTE_COMMAND);
	text = json_dumps(a.command, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, expected);
	free(text);
	json_decref(a.command);
}

static void assert_refused(const char *body, int status)
{
	struct webui_request r = post("/api/action", body);
	struct webui_request_answer a;

	assert_int_equal(decide(&r, &policy, &a), status);
	assert_null(a.command);
}

static void serves_the_app_and_its_files_with_their_types(void **state)
{
	struct webui_request r = get("/");
	struct webui_request_answer a;

	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_int_equal(a.route, WEBUI_REQUEST_ROUTE_FILE);
	assert_string_equal(a.path, "index.html");
	assert_string_equal(a.content_type, "text/html; charset=utf-8");

	r = get("/js/screens.js");
	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_string_equal(a.path, "js/screens.js");
	assert_string_equal(a.content_type, "text/javascript; charset=utf-8");

	r = get("/i18n/id.json");
	r.method = "HEAD";
	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_string_equal(a.content_type, "application/json");

	/* The spoken prompts the build rendered. */
	r = get("/speech/id/lockers_open.wav");
	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_string_equal(a.path, "speech/id/lockers_open.wav");
	assert_string_equal(a.content_type, "audio/wav");
}

static void refuses_paths_outside_the_app(void **state)
{
	static const char *const paths[] = {
		"/../etc/passwd",
		"/js/../../x.js",
		"/.git/config.js",
		"//etc/x.css",
		"/lokerbuku-kiosk-ui.service",
		"/README.md",
		"/a b.js",
		"/index",
		"/js/.hidden.js",
		"relative.js",
		"/x.js\\..",
		"/%2e%2e/x.js",
	};
	struct webui_request_answer a;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct webui_request r = get(paths[i]);

		assert_int_equal(decide(&r, &policy, &a), 404);
	}
}

static void gives_the_state_and_the_event_stream(void **state)
{
	struct webui_request r = get("/api/state");
	struct webui_request_answer a;

	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_int_equal(a.route, WEBUI_REQUEST_ROUTE_STATE);
	r = get("/api/events");
	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_int_equal(a.route, WEBUI_REQUEST_ROUTE_EVENTS);
	r = get("/api/nothing");
	assert_int_equal(decide(&r, &policy, &a), 404);
	r = get("/api/action");
	assert_int_equal(decide(&r, &policy, &a), 405);
	r = post("/api/state", "{}");
	assert_int_equal(decide(&r, &policy, &a), 405);
	r = post("/index.html", "{}");
	assert_int_equal(decide(&r, &policy, &a), 405);
}

static void refuses_other_hosts_against_dns_rebinding(void **state)
{
	struct webui_request r = get("/api/state");
	struct webui_request_answer a;

	r.host = "localhost:8080";
	assert_int_equal(decide(&r, &policy, &a), 0);
	r.host = "evil.example:8080";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.host = "127.0.0.1:8081";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.host = NULL;
	assert_int_equal(decide(&r, &policy, &a), 403);
	/* Beyond loopback, localhost names somebody else. */
	r.host = "localhost:8080";
	assert_int_equal(decide(&r,
				&(struct webui_request_policy){
					.host = "192.0.2.7:8080" },
				&a),
			 403);
}

static void refuses_other_origins_and_sites(void **state)
{
	struct webui_request r = post("/api/action", "{\"action\":\"cancel\"}");
	struct webui_request_answer a;

	r.origin = "http://evil.example";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.origin = "http://127.0.0.1:8080.evil.example";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.origin = "https://127.0.0.1:8080";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.origin = "null";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.origin = NULL;
	r.sec_fetch_site = "cross-site";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.sec_fetch_site = "same-site";
	assert_int_equal(decide(&r, &policy, &a), 403);
	r.sec_fetch_site = "same-origin";
	assert_int_equal(decide(&r, &policy, &a), 0);
	json_decref(a.command);
}

static void takes_only_json_bodies_of_bounded_size(void **state)
{
	struct webui_request r = post("/api/action", "{\"action\":\"cancel\"}");
	struct webui_request_answer a;
	char big[WEBUI_REQUEST_BODY_MAX + 2];

	r.content_type = "text/plain";
	assert_int_equal(decide(&r, &policy, &a), 415);
	r.content_type = "application/x-www-form-urlencoded";
	assert_int_equal(decide(&r, &policy, &a), 415);
	r.content_type = "application/jsonp";
	assert_int_equal(decide(&r, &policy, &a), 415);
	r.content_type = NULL;
	assert_int_equal(decide(&r, &policy, &a), 415);
	r.content_type = "application/json; charset=utf-8";
	assert_int_equal(decide(&r, &policy, &a), 0);
	json_decref(a.command);

	memset(big, ' ', sizeof(big));
	r.body = big;
	r.body_len = sizeof(big);
	assert_int_equal(decide(&r, &policy, &a), 413);
}

static void turns_screen_actions_into_control_requests(void **state)
{
	assert_command("{\"action\":\"code\",\"code\":\"482913\"}",
		       "{\"cmd\":\"code\",\"code\":\"482913\"}");
	assert_command("{\"action\":\"pin\",\"pin\":\"2468\"}",
		       "{\"cmd\":\"pin\",\"pin\":\"2468\"}");
	assert_command("{\"action\":\"return\"}", "{\"cmd\":\"return\"}");
	assert_command("{\"action\":\"cancel\"}", "{\"cmd\":\"cancel\"}");
}

/* The patron's choice on choose_books: the books left, hold by hold. */
static void passes_on_a_pickup_with_the_books_left(void **state)
{
	assert_command("{\"action\":\"pickup\"}", "{\"cmd\":\"pickup\"}");
	assert_command(
		"{\"action\":\"pickup\",\"leave\":[{\"hold\":\"H-1\",\"items\":[\"B2\"]}]}",
		"{\"cmd\":\"pickup\",\"leave\":[{\"hold\":\"H-1\",\"items\":[\"B2\"]}]}");
	assert_refused("{\"action\":\"pickup\",\"leave\":{}}", 400);
	assert_refused(
		"{\"action\":\"pickup\",\"leave\":[{\"hold\":\"H 1\",\"items\":[]}]}",
		400);
	assert_refused(
		"{\"action\":\"pickup\",\"leave\":[{\"hold\":\"H-1\",\"items\":[7]}]}",
		400);
	assert_refused(
		"{\"action\":\"pickup\",\"leave\":[{\"hold\":\"H-1\",\"items\":[],\"x\":1}]}",
		400);
	assert_refused("{\"action\":\"pickup\",\"session\":true}", 400);
}

static void staff_actions_act_only_within_the_screens_session(void **state)
{
	assert_command(
		"{\"action\":\"load\",\"hold\":\"H-1001\"}",
		"{\"cmd\":\"load\",\"hold\":\"H-1001\",\"locker\":0,\"session\":true}");
	assert_command(
		"{\"action\":\"load\",\"hold\":\"H-1001\",\"locker\":4}",
		"{\"cmd\":\"load\",\"hold\":\"H-1001\",\"locker\":4,\"session\":true}");
	assert_command(
		"{\"action\":\"unload\",\"hold\":\"H-1\"}",
		"{\"cmd\":\"unload\",\"hold\":\"H-1\",\"session\":true}");
	assert_command("{\"action\":\"open\",\"locker\":3}",
		       "{\"cmd\":\"open\",\"locker\":3,\"session\":true}");
	assert_command("{\"action\":\"disable\",\"locker\":12}",
		       "{\"cmd\":\"disable\",\"locker\":12,\"session\":true}");
	assert_command("{\"action\":\"enable\",\"locker\":1}",
		       "{\"cmd\":\"enable\",\"locker\":1,\"session\":true}");
	assert_command(
		"{\"action\":\"scan\",\"text\":\"B0001\"}",
		"{\"cmd\":\"scan\",\"session\":true,\"text\":\"B0001\"}");
	/* A screen request cannot ask to act as the service. */
	assert_refused("{\"action\":\"open\",\"locker\":3,\"session\":false}",
		       400);
}

static void refuses_malformed_actions(void **state)
{
	static const char *const bodies[] = {
		"",
		"[]",
		"null",
		"{\"action\":1}",
		"{\"action\":\"sim-tap\",\"credential\":\"uid:01\"}",
		"{\"action\":\"hold-add\"}",
		"{\"action\":\"status\"}",
		"{\"action\":\"code\"}",
		"{\"action\":\"code\",\"code\":\"123\"}",
		/* One rule for codes everywhere: 6 to 12 digits (issue 20). */
		"{\"action\":\"code\",\"code\":\"12345\"}",
		"{\"action\":\"code\",\"code\":\"1234567890123\"}",
		"{\"action\":\"code\",\"code\":\"12345678901234567\"}",
		"{\"action\":\"code\",\"code\":\"12a456\"}",
		"{\"action\":\"code\",\"code\":123456}",
		"{\"action\":\"code\",\"code\":\"123456\",\"x\":1}",
		"{\"action\":\"pin\",\"pin\":\"123456789\"}",
		"{\"action\":\"pin\",\"pin\":\"12 34\"}",
		"{\"action\":\"cancel\",\"cmd\":\"hold-add\"}",
		"{\"action\":\"load\"}",
		"{\"action\":\"load\",\"hold\":\"\"}",
		"{\"action\":\"load\",\"hold\":\"a b\"}",
		"{\"action\":\"load\",\"hold\":\"H-1\",\"locker\":-1}",
		"{\"action\":\"load\",\"hold\":\"H-1\",\"locker\":129}",
		"{\"action\":\"open\"}",
		"{\"action\":\"open\",\"locker\":0}",
		"{\"action\":\"open\",\"locker\":\"3\"}",
		"{\"action\":\"open\",\"locker\":3.0}",
		"{\"action\":\"scan\",\"text\":\"\"}",
		"{\"action\":\"scan\",\"text\":\"has space\"}",
		"{\"action\":\"cancel\",\"action\":\"return\"}",
		"{\"action\":\"cancel\"} trailing",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_refused(bodies[i], 400);
}

static void the_simulator_exists_only_with_simulated_hardware(void **state)
{
	struct webui_request r = get("/sim");
	struct webui_request_answer a;
	char *text;

	assert_int_equal(decide(&r, &policy, &a), 404);
	r = get("/sim.html");
	assert_int_equal(decide(&r, &policy, &a), 404);
	r = post("/api/sim", "{\"action\":\"tap\",\"credential\":\"uid:01\"}");
	assert_int_equal(decide(&r, &policy, &a), 404);

	r = get("/sim");
	assert_int_equal(decide(&r, &sim_policy, &a), 0);
	assert_string_equal(a.path, "sim.html");
	r = post("/api/sim",
		 "{\"action\":\"door\",\"locker\":3,\"open\":true}");
	assert_int_equal(decide(&r, &sim_policy, &a), 0);
	text = json_dumps(a.command, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		text, "{\"cmd\":\"sim-door\",\"locker\":3,\"open\":true}");
	free(text);
	json_decref(a.command);
	r = post("/api/sim", "{\"action\":\"door\",\"locker\":3,\"open\":1}");
	assert_int_equal(decide(&r, &sim_policy, &a), 400);
	r = post("/api/sim", "{\"action\":\"tap\",\"credential\":\"uid:01\"}");
	assert_int_equal(decide(&r, &sim_policy, &a), 0);
	json_decref(a.command);
	/* Screen actions are not sim actions, nor the other way round. */
	r = post("/api/sim", "{\"action\":\"open\",\"locker\":3}");
	assert_int_equal(decide(&r, &sim_policy, &a), 400);
	r = post("/api/action", "{\"action\":\"tap\",\"credential\":\"x\"}");
	assert_int_equal(decide(&r, &sim_policy, &a), 400);
}

/* Anyone but the screen may look, and may not act: not even a patron's. */
static void only_the_screen_may_act(void **state)
{
	static const char *const bodies[] = {
		"{\"action\":\"open\",\"locker\":3}",
		"{\"action\":\"load\",\"hold\":\"H-1\"}",
		"{\"action\":\"pin\",\"pin\":\"1234\"}",
		"{\"action\":\"code\",\"code\":\"482913\"}",
		"{\"action\":\"cancel\"}",
	};
	struct webui_request r;
	struct webui_request_answer a;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		r = post("/api/action", bodies[i]);
		r.screen = false;
		assert_int_equal(decide(&r, &policy, &a), 403);
		assert_null(a.command);
	}
	r = post("/api/sim", "{\"action\":\"tap\",\"credential\":\"uid:01\"}");
	r.screen = false;
	assert_int_equal(decide(&r, &sim_policy, &a), 403);
	r = get("/api/state");
	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_int_equal(a.route, WEBUI_REQUEST_ROUTE_STATE);
	r = get("/api/events");
	assert_int_equal(decide(&r, &policy, &a), 0);
	assert_int_equal(a.route, WEBUI_REQUEST_ROUTE_EVENTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serves_the_app_and_its_files_with_their_types),
		cmocka_unit_test(refuses_paths_outside_the_app),
		cmocka_unit_test(gives_the_state_and_the_event_stream),
		cmocka_unit_test(refuses_other_hosts_against_dns_rebinding),
		cmocka_unit_test(refuses_other_origins_and_sites),
		cmocka_unit_test(takes_only_json_bodies_of_bounded_size),
		cmocka_unit_test(turns_screen_actions_into_control_requests),
		cmocka_unit_test(passes_on_a_pickup_with_the_books_left),
		cmocka_unit_test(
			staff_actions_act_only_within_the_screens_session),
		cmocka_unit_test(refuses_malformed_actions),
		cmocka_unit_test(
			the_simulator_exists_only_with_simulated_hardware),
		cmocka_unit_test(only_the_screen_may_act),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
