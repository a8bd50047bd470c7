# hornet - build, test, demo, bench. `make help` lists the targets.
#
# Every entry point that needs packages runs deploy/install-deps.sh first:
# it installs only what is missing, and is a quick no-op when all is there.

VERSION  := 0.1.0
CC       ?= gcc
PKGS     := libcurl libczmq libzmq msgpack libmicrohttpd yaml-0.1 jansson \
            libpcre2-8 openssl zlib
CFLAGS_COMMON := -std=c11 -Wall -Wextra -Werror -Wswitch -D_GNU_SOURCE \
            -DHN_VERSION='"$(VERSION)"'
# Each folder sees only the layers below it (cli -> master, worker -> proto
# -> common), so an upward #include fails to build instead of creeping in.
INC_common := -Icommon
INC_proto  := -Icommon -Iproto
INC_worker := -Icommon -Iproto -Iworker
INC_master := -Icommon -Iproto -Imaster -Iwebui
INC_cli    := -Icommon -Iproto -Iworker -Imaster -Icli
INC_ALL    := $(INC_cli) -Iwebui
inc = $(or $(INC_$(firstword $(subst /, ,$(1)))),$(INC_ALL))
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libhttp-parser-dev (worker/h1.c) ships no .pc file, like libcsv.
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm -lcsv \
             -lhttp_parser
CFLAGS   ?= -O2 -g
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer

LIB_SRC  := $(wildcard common/*.c proto/*.c worker/*.c master/*.c) \
            $(filter-out cli/main.c,$(wildcard cli/*.c))
MAIN_SRC := cli/main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)

# The web UI is compiled into the binary: webui/embed.py turns the files
# into byte arrays (build/gen/webui_data.c) that master/api.c serves.
WEBUI    := webui/index.html webui/app.js webui/style.css webui/charts.js \
            webui/report.html webui/report.js webui/report.css \
            node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css
OBJ      := $(LIB_SRC:%.c=build/obj/%.o) build/obj/gen/webui_data.o
AOBJ     := $(LIB_SRC:%.c=build/asan/%.o) build/asan/gen/webui_data.o
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
UNIT_ASAN:= $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

.PHONY: install all deps test unit unit-asan integration demo bench clean help check-style deb deb-clean

all: build/hornet build/target

help:
	@echo "make          build build/hornet and the stand-in target"
	@echo "make demo     install what is missing, build, run a 30 s test against the target"
	@echo "make test     install what is missing, build, run every test"
	@echo "make bench    hornet vs wrk, hey and Locust on this machine"
	@echo "make clean    remove build/"

deps:
	@bash deploy/install-deps.sh

# uPlot comes from node_modules/ (package-lock.json): install-deps.sh's npm
# step runs npm ci first when node_modules/ is missing or older than the lock.
build/gen/webui_data.c: webui/embed.py package-lock.json $(filter-out node_modules/%,$(WEBUI)) \
                        $(wildcard $(filter node_modules/%,$(WEBUI)))
	@mkdir -p $(dir $@)
	@HORNET_NPM_ONLY=1 bash deploy/install-deps.sh
	@echo "  EMBED   $(notdir $(WEBUI))"
	@python3 webui/embed.py $@ $(WEBUI)

build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_COMMON) -Iwebui $(CFLAGS) -c $< -o $@

build/asan/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_COMMON) -Iwebui $(ASAN_FLAGS) -c $< -o $@

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_COMMON) $(call inc,$*) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (asan)"
	@$(CC) $(CFLAGS_COMMON) $(call inc,$*) $(ASAN_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/libhornet.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

build/asan/libhornet.a: $(AOBJ)
	@rm -f $@
	ar rcs $@ $^

build/hornet: build/obj/cli/main.o build/libhornet.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/target: $(wildcard tests/target/*.c)
	@mkdir -p build
	$(CC) -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -o $@ \
	    tests/target/*.c $(shell pkg-config --cflags --libs libmicrohttpd jansson) -lpthread

build/tests/%: tests/unit/%.c build/libhornet.a
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_COMMON) $(INC_ALL) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< build/libhornet.a \
	    $(PKG_LIBS) $(shell pkg-config --libs cmocka)

build/asan/tests/%: tests/unit/%.c build/asan/libhornet.a
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_COMMON) $(INC_ALL) $(ASAN_FLAGS) $(PKG_CFLAGS) -o $@ $< \
	    build/asan/libhornet.a $(PKG_LIBS) $(shell pkg-config --libs cmocka)

build/bench/bench_%: bench/bench_%.c build/libhornet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(INC_ALL) -O2 $(PKG_CFLAGS) -o $@ $< build/libhornet.a $(PKG_LIBS)

unit: $(UNIT_BIN)
unit-asan: $(UNIT_ASAN)

check-style:
	@bash tests/check-style.sh

# The one command CI runs (.ci/run): deps, build, every test, one closing line.
test: deps
	@$(MAKE) --no-print-directory -j2 all unit unit-asan
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash deploy/demo.sh

bench:
	@HORNET_BENCH=1 bash deploy/install-deps.sh
	@$(MAKE) --no-print-directory all build/bench/bench_hist build/bench/bench_master \
	    build/bench/bench_curlloop
	@bash bench/run.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, its bash
# completion and the examples. A worker VM needs the runtime libraries too
# (README, "Install on a load generator"); the .deb (make deb) pulls them.
PREFIX ?= /usr/local
install: build/hornet
	install -D -m 0755 build/hornet $(DESTDIR)$(PREFIX)/bin/hornet
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	build/hornet completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hornet
	install -d $(DESTDIR)$(PREFIX)/share/hornet
	cp -r examples $(DESTDIR)$(PREFIX)/share/hornet/

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(AOBJ:.o=.d)

# make deb: the Debian package (deploy/debian/, debhelper) of this tree in
# build/deb/, checked with lintian; its version is VERSION above.
deb:
	@HORNET_DEB=1 bash deploy/install-deps.sh
	@bash deploy/debian/build-deb.sh $(VERSION)

deb-clean:
	rm -rf build/deb

# ---- fuzzing (issue 15): libFuzzer targets in tests/fuzz/, clang with
# ASan+UBSan over the proto/ and common/ layers (and master/ctl.c).
# `make fuzz` runs each target for FUZZ_SECONDS with new inputs in
# build/fuzz/new-NAME, then merges those that add coverage into its corpus
# tests/fuzz/corpus/NAME (tests/fuzz/run.sh), and stops at the first crash
# (build/fuzz/crash-NAME-*, log build/fuzz/NAME.log); make test runs each
# over its corpus once
# (tests/run.sh). `make fuzz-seed` rewrites the seed corpora from hornet's
# own encoders and from the examples and docs (tests/fuzz/seed_text.py).
FUZZ_CC      := clang
FUZZ_SECONDS ?= 30
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -DHN_VERSION='"$(VERSION)"' -O1 -g \
                -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
# master/ctl.c (API bodies) is pure JSON parsing over common/, so the ctl
# target links it in too. Only master/*.c and fuzz_ctl.c see -Imaster
# (master/csv.h would shadow libcsv's <csv.h> in common/feed.c).
FUZZ_SRC     := $(wildcard common/*.c proto/*.c) master/ctl.c
FUZZ_INC      = -Icommon -Iproto $(if $(filter master/% %/fuzz_ctl.c,$<),-Imaster)
FUZZ_OBJ     := $(FUZZ_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# worker/h1.c's response parser (issue 17): tests/fuzz/h1_*.c, built with
# worker/h1.c added (worker/ is not in FUZZ_SRC); same corpus layout.
FUZZ_H1      := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/h1_*.c))
FUZZ_NAMES   += $(FUZZ_H1)
FUZZ_BINS    := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)

.PHONY: fuzz fuzz-bins fuzz-seed
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INC) \
	    $(PKG_CFLAGS) -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@echo "  FUZZ    $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(FUZZ_INC) $(PKG_CFLAGS) \
	    -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

# (only the objects h1.c needs, so a half-edited file elsewhere in common/
# does not stop it)
FUZZ_H1_OBJ  := $(patsubst %,build/fuzz/obj/%.o,worker/h1 common/buf common/err \
                common/tmpl common/util)
build/fuzz/fuzz_h1_%: tests/fuzz/h1_%.c $(FUZZ_H1_OBJ)
	@echo "  FUZZ    $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Icommon -Iproto -Iworker $(PKG_CFLAGS) \
	    -o $@ $< $(FUZZ_H1_OBJ) $(PKG_LIBS)

build/fuzz/seed: tests/fuzz/seed.c $(FUZZ_OBJ)
	@$(FUZZ_CC) $(FUZZ_FLAGS) -Icommon -Iproto $(PKG_CFLAGS) -o $@ $< \
	    $(FUZZ_OBJ) $(PKG_LIBS)

fuzz-bins: $(FUZZ_BINS)

fuzz-seed: build/fuzz/seed
	@mkdir -p tests/fuzz/corpus/wire tests/fuzz/corpus/hist
	build/fuzz/seed tests/fuzz/corpus/wire tests/fuzz/corpus/hist
	python3 tests/fuzz/seed_text.py tests/fuzz/corpus

# tests/fuzz/run.sh: scratch corpus, then -merge=1 into tests/fuzz/corpus/NAME
# (only inputs that add coverage; FUZZ_MAX_LEN, FUZZ_MAX_NEW cap the size);
# FUZZ_TARGETS="wire hist" runs only those.
FUZZ_TARGETS ?= $(FUZZ_NAMES)
fuzz: fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_TARGETS)

# ---- soak (issue 15; not in make test): SOAK_MINUTES (default 30) at
# SOAK_RATE req/s with a master and 3 local workers against build/target on
# 127.0.0.1; RSS (VmRSS and RssAnon) of each process every minute, failing
# on RssAnon growth beyond SOAK_RSS_GROWTH_KB after the warm-up or on
# totals unlike the target's (tests/soak/soak.sh).
.PHONY: soak
soak: build/hornet build/target
	@bash tests/soak/soak.sh
