/* libroot.c: a shared library for test_roots.c, opened with dlopen. Its only
 * reference to an mgc object is a static variable: the collector must read
 * its data segment while it is loaded, and stop once it is closed. */
static void *held;

void libroot_hold(void *p) { held = p; }
void *libroot_held(void) { return held; }
