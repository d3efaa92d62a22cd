/* fuzz_check.h — invariant checks for the fuzz harnesses. A violated invariant
 * aborts, which libFuzzer reports as a crash and saves the input, and which
 * fails the ctest replay of the corpus. */
#ifndef SQ_FUZZ_CHECK_H
#define SQ_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                              \
            abort();                                                                                                  \
        }                                                                                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
