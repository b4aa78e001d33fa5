/*
 * fuzz-scenario.c -- fuzz target for the scenario loader (scenario_parse).
 *
 * Invariants: the loader either returns a scenario and no cause, or NULL
 * and a cause whose every line is "fuzz.yaml:LINE:COL: message"; a loaded
 * scenario has a snapshot and a service URL, consistent counts, a
 * percentage within [0, 1], a positive multiplier and at least one clone;
 * freeing leaves nothing behind.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scenario.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_cause(const char *cause)
{
	const char	*line = cause, *nl;

	CHECK(cause != NULL && *cause != '\0');
	for (;;) {
		CHECK(strncmp(line, "fuzz.yaml:", 10) == 0);
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario	*sc;
	char		*cause = NULL;
	size_t		 i;

	sc = scenario_parse("fuzz.yaml", (const char *)data, size, &cause);
	if (sc == NULL) {
		check_cause(cause);
		free(cause);
		return 0;
	}
	CHECK(cause == NULL);
	CHECK(sc->snapshot != NULL && *sc->snapshot != '\0');
	CHECK(sc->url != NULL && strncmp(sc->url, "http://", 7) == 0);
	CHECK(sc->name != NULL);
	CHECK(sc->nrules == 0 || sc->rules != NULL);
	for (i = 0; i < sc->nrules; i++)
		CHECK(*sc->rules[i] != '\0');
	for (i = 0; i < sc->nenv; i++)
		CHECK(strchr(sc->env[i], '=') != NULL);
	CHECK(!sc->has_responder || sc->listen != NULL);
	CHECK(sc->error_rate_max >= 0.0 && sc->error_rate_max <= 1.0);
	CHECK(sc->multiplier > 0.0 && sc->clones >= 1);
	CHECK(sc->nignore == 0 || sc->cmp_body == SCENARIO_BODY_JSON);
	scenario_free(sc);
	return 0;
}
