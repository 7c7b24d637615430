#!/usr/bin/env python3
"""seeds.py: writes the hand-made part of the seed corpus (fuzz/corpus/seed-*).

Each seed is a first byte (bit 0: finalizers in manual mode) and then
operations in the encoding of fuzz/ops.h: one operation byte and its
argument bytes. The seeds walk every operation through its main cases, so
that even a short bounded run (make fuzz-ci) starts from inputs that reach
deep. Run it again after changing an operation's encoding:

    python3 fuzz/seeds.py fuzz/corpus
"""
import os
import random
import sys

(ALLOC_SCAN, ALLOC_NOSCAN, ALLOC_TINY, ALLOC_LARGE, ALLOC_UNCOLLECTABLE, CALLOC, STRDUP, LINK, UNLINK, FREE,
 REALLOC, SET_FINALIZER, REMOVE_FINALIZER, COLLECT, RUN_FINALIZERS, THREAD, GARBAGE, VERIFY, SETTINGS,
 WEAK) = range(20)

THREAD_MODE, MANUAL_MODE = 0, 1


def to_root(slot, offset=0):
    """Destination bytes: keep the new object in a root slot."""
    return [1, slot << 1, offset]


def to_field(object_byte, field, offset=0):
    """Destination bytes: keep it in a field of a live object with fields."""
    return [1, field << 1 | 1, object_byte, offset]


DROP = [0]


def alloc(op, size, variant, destination):
    return [op, size, variant] + destination


def calloc(count, size, destination):
    return [CALLOC, count, size] + destination


def strdup(length, destination):
    return [STRDUP, length] + destination


def link_root(slot, object_byte, offset=0):
    return [LINK, slot << 1, object_byte, offset]


def unlink_root(slot):
    return [UNLINK, slot << 1]


def thread(count, churn, operations):
    return [THREAD, (count - 1) | (0x80 if churn else 0)] + operations


def chain(shape, destination=None):
    """A chain of 2 + shape % 4 objects; bits 2.. finalizers; 0x80 a cycle;
    0x40 keep it (destination)."""
    out = [GARBAGE, 1, shape]
    if shape & 0x40:
        out += destination or DROP
    return out


def seeds():
    s = {}
    # Every kind of allocation, kept, collected and checked.
    for mode in (THREAD_MODE, MANUAL_MODE):
        s[f"kinds-{mode}"] = [mode] + alloc(ALLOC_SCAN, 3, 0, to_root(0)) + alloc(ALLOC_NOSCAN, 40, 0, to_root(1)) + \
            alloc(ALLOC_TINY, 5, 0, to_root(2, 3)) + alloc(ALLOC_LARGE, 20, 1, to_root(3)) + \
            alloc(ALLOC_UNCOLLECTABLE, 9, 0, to_root(4)) + calloc(3, 20, to_root(5)) + \
            strdup(30, to_root(6)) + [COLLECT, VERIFY]
    # Variants: flags, NOZERO, realloc(NULL), big small sizes.
    s["variants"] = [0] + alloc(ALLOC_SCAN, 200, 1, to_root(0)) + alloc(ALLOC_SCAN, 250, 2, to_root(1)) + \
        alloc(ALLOC_NOSCAN, 230, 2, to_root(2)) + alloc(ALLOC_TINY, 7, 2, to_root(3)) + \
        alloc(ALLOC_LARGE, 255, 3, to_root(4)) + alloc(ALLOC_UNCOLLECTABLE, 200, 1, DROP) + [COLLECT]
    # A tree: objects in fields of objects, with interior pointers.
    tree = [1] + alloc(ALLOC_SCAN, 3, 0, to_root(0))
    for i in range(12):
        kind = [ALLOC_SCAN, ALLOC_TINY, ALLOC_NOSCAN, ALLOC_SCAN][i % 4]
        tree += alloc(kind, 3 + i, 0, to_field(i, i % 4, 2 * i + 1))
    s["tree"] = tree + [COLLECT, GARBAGE, 0, 60, COLLECT, VERIFY]
    # Unlink parts of a tree, collect, allocate over the freed slots.
    s["tree-cut"] = tree + unlink_root(0) + [COLLECT, GARBAGE, 0, 63, GARBAGE, 2, 40, COLLECT]
    s["relink"] = tree + link_root(5, 3, 9) + link_root(6, 7) + unlink_root(0) + [COLLECT] + \
        link_root(0, 1) + [COLLECT, VERIFY]
    # Finalizers: set, EEXIST, EINVAL on an interior byte, remove, run.
    for mode in (THREAD_MODE, MANUAL_MODE):
        f = [mode] + alloc(ALLOC_SCAN, 3, 0, to_root(0)) + alloc(ALLOC_NOSCAN, 3, 0, to_root(1)) + \
            alloc(ALLOC_TINY, 3, 0, to_root(2)) + alloc(ALLOC_LARGE, 3, 0, to_root(3))
        for obj in range(4):
            f += [SET_FINALIZER, obj, 1, SET_FINALIZER, obj, 0]
        f += [REMOVE_FINALIZER, 2]
        f += unlink_root(0) + unlink_root(1) + unlink_root(2) + unlink_root(3)
        f += [COLLECT, RUN_FINALIZERS, COLLECT, RUN_FINALIZERS, VERIFY]
        s[f"finalizers-{mode}"] = f
    # Tiny finalizers with a neighbour that stays.
    s["tiny-neighbours"] = [1] + alloc(ALLOC_TINY, 3, 0, to_root(0)) + alloc(ALLOC_TINY, 3, 0, to_root(1)) + \
        alloc(ALLOC_TINY, 3, 0, to_root(2)) + [SET_FINALIZER, 0, 0, SET_FINALIZER, 1, 0] + unlink_root(0) + \
        [COLLECT, RUN_FINALIZERS] + unlink_root(1) + unlink_root(2) + [COLLECT, RUN_FINALIZERS, COLLECT, RUN_FINALIZERS]
    # Chains: order of finalizers, cycles never finalized, kept then dropped.
    for shape in (0x3C, 0x7C, 0xBC, 0x14, 0xFF, 0x4D):
        for mode in (THREAD_MODE, MANUAL_MODE):
            c = [mode] + chain(shape, to_root(7)) + chain(shape ^ 0x28, to_root(8))
            c += [COLLECT, RUN_FINALIZERS] + unlink_root(7) + [COLLECT, RUN_FINALIZERS] * 4 + unlink_root(8)
            c += [COLLECT, RUN_FINALIZERS] * 4
            s[f"chain-{shape:02x}-{mode}"] = c
    # Realloc: every kind, growing and shrinking, in place and moving.
    for kind, size in ((ALLOC_SCAN, 100), (ALLOC_NOSCAN, 100), (ALLOC_TINY, 4), (ALLOC_LARGE, 10),
                       (ALLOC_UNCOLLECTABLE, 30)):
        r = [0] + alloc(kind, size, 0, to_root(0))
        for b in (4, 6, 1, 0x8F, 5, 2, 3, 0xFF, 0x10):
            r += [REALLOC, 0, b, VERIFY]
        s[f"realloc-{kind}"] = r + [COLLECT]
    s["realloc-tree"] = tree + [REALLOC, 0, 6, REALLOC, 1, 1, REALLOC, 2, 0x47, COLLECT, REALLOC, 3, 0]
    s["realloc-string"] = [0] + strdup(40, to_root(0)) + [REALLOC, 0, 6, REALLOC, 0, 1, COLLECT]
    # Explicit frees of every kind, then reuse.
    fr = [0]
    for i, kind in enumerate((ALLOC_SCAN, ALLOC_NOSCAN, ALLOC_TINY, ALLOC_LARGE, ALLOC_UNCOLLECTABLE)):
        fr += alloc(kind, 9, 0, to_root(i))
    fr += [FREE, 0, FREE, 0, FREE, 0, COLLECT, GARBAGE, 0, 50, FREE, 0, FREE, 0, COLLECT, VERIFY]
    s["frees"] = fr
    s["free-with-finalizer"] = [1] + alloc(ALLOC_SCAN, 9, 0, to_root(0)) + [SET_FINALIZER, 0, 0, FREE, 0] + \
        [COLLECT, RUN_FINALIZERS, GARBAGE, 0, 63, COLLECT, RUN_FINALIZERS]
    # Threads: a helper allocates and links, with and without churn here.
    for churn in (False, True):
        ops = alloc(ALLOC_SCAN, 5, 0, to_root(9)) + alloc(ALLOC_TINY, 5, 0, to_field(0, 0)) + [COLLECT] + \
            alloc(ALLOC_LARGE, 5, 0, to_root(10)) + [SET_FINALIZER, 1, 0] + unlink_root(10)
        s[f"thread-{int(churn)}"] = [0] + thread(7, churn, ops) + [COLLECT, VERIFY] + \
            thread(3, churn, [GARBAGE, 0, 63, COLLECT, RUN_FINALIZERS]) + unlink_root(9) + [COLLECT]
    # Settings: gc off, memory limit (ENOMEM allowed), modes switched.
    s["memory-limit"] = [0] + [SETTINGS, 1, 2] + alloc(ALLOC_LARGE, 255, 0, to_root(0)) + \
        alloc(ALLOC_LARGE, 255, 0, to_root(1)) + alloc(ALLOC_LARGE, 255, 0, to_root(2)) + \
        [REALLOC, 0, 6, SETTINGS, 2, 0, COLLECT]
    s["gc-percent"] = [1] + [SETTINGS, 0, 1] + tree[1:] + [SETTINGS, 0, 0, GARBAGE, 0, 63, SETTINGS, 0, 2]
    s["mode-switch"] = [1] + chain(0x7C, to_root(0)) + unlink_root(0) + [COLLECT, SETTINGS, 4, 0, COLLECT,
                                                                      SETTINGS, 3, 0, SETTINGS, 5, 0]
    s["checks"] = [0] + calloc(255, 0, DROP) + strdup(255, DROP) + [GARBAGE, 2, 5] + calloc(15, 255, to_root(0)) + \
        strdup(0, to_root(1)) + [COLLECT]
    # A few longer inputs of random bytes.
    rng = random.Random(20261203)
    for i in range(6):
        s[f"random-{i}"] = [rng.randrange(256) for _ in range(rng.randrange(100, 400))]
    return s


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(directory, "seed-" + name), "wb") as f:
            f.write(bytes(b & 0xFF for b in data))


if __name__ == "__main__":
    main()
