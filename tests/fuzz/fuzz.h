/*
 * fuzz.h -- the libFuzzer entry point every fuzz target defines.
 *
 * A target takes one input, runs it through the code under test, checks
 * invariants (abort() on a violation), frees everything and returns 0.
 * With --enable-fuzzing it links libFuzzer; otherwise standalone.c
 * replays files and directories through it.
 */
#ifndef DECOY_FUZZ_H
#define DECOY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif
