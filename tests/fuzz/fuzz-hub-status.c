/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for lokerhub's reading of a heartbeat without jansson's
 * tree (api_status_skim(), tools/lokerhub/api.c), against jansson's: it
 * aborts when the skim takes a body jansson refuses, or reads a value of
 * it otherwise than jansson does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the skim keeps of a value: itself if null, an integer or a string. */
static bool same(json_t *skim, json_t *v)
{
	if (json_is_null(v) || json_is_integer(v) || json_is_string(v))
		return json_equal(skim, v);
	return json_is_true(skim);
}

static bool same_lockers(json_t *skim, json_t *lockers)
{
	json_t *l, *s;
	size_t i;

	if (!json_is_array(lockers))
		return json_is_true(skim);
	if (json_array_size(skim) != json_array_size(lockers))
		return false;
	json_array_foreach(lockers, i, l)
	{
		s = json_array_get(skim, i);
		if (!json_is_object(l)) {
			if (!json_is_true(s))
				return false;
			continue;
		}
		if (!json_is_object(s) ||
		    json_object_size(s) !=
			    !!json_object_get(l, "number") +
				    !!json_object_get(l, "hold") ||
		    (json_object_get(l, "number") &&
		     !same(json_object_get(s, "number"),
			   json_object_get(l, "number"))) ||
		    (json_object_get(l, "hold") &&
		     !same(json_object_get(s, "hold"),
			   json_object_get(l, "hold"))))
			return false;
	}
	return true;
}

static bool same_done(json_t *skim, json_t *done)
{
	json_t *d;
	size_t i;

	if (!json_is_array(done))
		return json_is_true(skim);
	if (json_array_size(skim) !=
	    (json_array_size(done) < 1000 ? json_array_size(done) : 1000))
		return false;
	json_array_foreach(skim, i, d)
	{
		if (!same(d, json_array_get(done, i)))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *skim = api_status_skim((const char *)data, size), *full;
	const char *keys[] = { "backlog", "done_commands", "lockers" };
	size_t kept = 0;

	if (!skim)
		return 0;
	full = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			  NULL);
	if (!json_is_object(full))
		abort(); /* taken, though jansson refuses it */
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		kept += !!json_object_get(full, keys[i]);
	if (json_object_size(skim) != kept ||
	    (json_object_get(full, "backlog") &&
	     !same(json_object_get(skim, "backlog"),
		   json_object_get(full, "backlog"))) ||
	    (json_object_get(full, "done_commands") &&
	     !same_done(json_object_get(skim, "done_commands"),
			json_object_get(full, "done_commands"))) ||
	    (json_object_get(full, "lockers") &&
	     !same_lockers(json_object_get(skim, "lockers"),
			   json_object_get(full, "lockers"))))
		abort(); /* read otherwise than jansson reads it */
	json_decref(full);
	json_decref(skim);
	return 0;
}
