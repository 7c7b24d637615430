/*
 * fuzz_heap.c: the libFuzzer entry points of the heap fuzz target.
 *
 * Each input is one run of operations (ops.h) on mgc, checked against a
 * shadow model of the heap (model.h): the first byte chooses the finalizer
 * mode, every further group of bytes is an operation and its arguments.
 * libFuzzer runs many inputs in one process, so each input starts from a
 * collected heap with an empty root table (ops.c, fuzz_one_input).
 *
 * Collections during an input come from OP_COLLECT and from the pacer; to
 * have many more, the target asks mgc to collect at every 64th slow-path
 * allocation (MGC_DEBUG=collectevery=64) unless MGC_DEBUG is set already.
 */
#include <stdlib.h>

#include "ops.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("MGC_DEBUG", "collectevery=64", 0);
    fuzz_initialize();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one_input(data, size);
    return 0;
}
