# gc.mk: the Boehm GC compatibility layer (gc/), included by the Makefile.
#
#   build/gc/include/gc.h, build/gc/include/gc/*.h   Boehm GC 8.2's header set
#   build/gc/lib/libgc.so.1 (+ libgc.so), libgc.a    the layer with mgc inside
#   build/gc/lib/pkgconfig/bdw-gc.pc
#   make install-gc PREFIX=...
#   make bench-gc      GCBench built against Debian's libgc, run on Boehm and on mgc
#
# The layer is built over mgc's public API (and src/hooks.h); libgc.so.1
# links mgc's objects in and exports only GC_* names (gc/libgc.map).

GC_SOURCES  := $(wildcard gc/src/*.c)
GC_OBJECTS  := $(GC_SOURCES:gc/src/%.c=$(BUILD)/gc/obj/%.o)
GC_HEADERS  := $(patsubst gc/include/%,$(BUILD)/gc/include/%,$(wildcard gc/include/*.h gc/include/gc/*.h))
GC_LIBDIR   := $(BUILD)/gc/lib
GC_CFLAGS   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -gdwarf-4 $(OPT) $(SANFLAGS) \
               -fPIC -pthread -Iinclude -Igc/include/gc

.PHONY: gc install-gc bench-gc
# A Boehm program (GCBench) built against Debian's libgc, timed on Boehm GC
# and on mgc through this layer (LD_LIBRARY_PATH).
bench-gc: gc
	@sh gc/bench_layer.sh $(BUILD) $(if $(QUICK),1,3)

gc: $(GC_HEADERS) $(GC_LIBDIR)/libgc.so.1 $(GC_LIBDIR)/libgc.so $(GC_LIBDIR)/libgc.a \
    $(GC_LIBDIR)/pkgconfig/bdw-gc.pc

$(BUILD)/gc/include/%.h: gc/include/%.h
	@mkdir -p $(dir $@)
	$(Q)cp $< $@

$(BUILD)/gc/obj/%.o: gc/src/%.c gc/src/layer.h $(wildcard gc/include/gc/*.h) src/hooks.h include/mgc.h
	@mkdir -p $(dir $@)
	$(call say,CC      $<)
	$(Q)$(CC) $(GC_CFLAGS) -c $< -o $@

$(GC_LIBDIR)/libgc.so.1: $(OBJECTS) $(GC_OBJECTS) gc/libgc.map
	@mkdir -p $(dir $@)
	$(call say,LINK    $@)
	$(Q)$(CC) $(GC_CFLAGS) -shared -Wl,-soname,libgc.so.1 -Wl,--version-script=gc/libgc.map \
	    -o $@ $(OBJECTS) $(GC_OBJECTS) $(LDLIBS)

$(GC_LIBDIR)/libgc.so: $(GC_LIBDIR)/libgc.so.1
	$(Q)ln -sf libgc.so.1 $@

$(GC_LIBDIR)/libgc.a: $(OBJECTS) $(GC_OBJECTS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call say,AR      $@)
	$(Q)ar rcs $@ $^

$(GC_LIBDIR)/pkgconfig/bdw-gc.pc: gc/bdw-gc.pc.in
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(abspath $(BUILD)/gc)|' $< > $@

install-gc: gc
	install -d $(DESTDIR)$(PREFIX)/include/gc $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/gc/include/gc.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(wildcard $(BUILD)/gc/include/gc/*.h) $(DESTDIR)$(PREFIX)/include/gc/
	install -m 755 $(GC_LIBDIR)/libgc.so.1 $(DESTDIR)$(PREFIX)/lib/
	ln -sf libgc.so.1 $(DESTDIR)$(PREFIX)/lib/libgc.so
	install -m 644 $(GC_LIBDIR)/libgc.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' gc/bdw-gc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/bdw-gc.pc
