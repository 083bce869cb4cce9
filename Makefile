# katamount -- build, test, bench, install, lint.
#
#   make            build build/katamount/core.so (installs missing Debian packages first)
#   make test       run the luaunit specs (as root: inside `unshare -m`, so test mounts never leak)
#   make demo       plan the example pod with the bundled rules (the main job)
#   make asan       the specs against a core built with AddressSanitizer + UBSan
#   make valgrind   the specs under valgrind memcheck
#   make lint       luacheck over lua/, rules/, bin/, spec/, bench/
#   make bench      the benchmarks (root, inside `unshare -m`)
#   make fuzz       each libFuzzer target for FUZZ_SECONDS; make fuzz-replay replays the corpus
#   make install    luarocks make (offline, over the Debian packages)

LUA        ?= lua5.4
LUA_INC    ?= /usr/include/lua5.4
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN        = -std=c99 -Wall -Wextra -pedantic -Wshadow -Wmissing-prototypes -Wwrite-strings
KM_CFLAGS   = $(WARN) -fPIC -I$(LUA_INC) -Ic
LDFLAGS_SO  = -shared
BUILD      ?= build
SRC         = $(wildcard c/*.c)
HDR         = $(wildcard c/*.h)
CORE        = $(BUILD)/katamount/core.so
FUZZ_SECONDS ?= 60

DEBIAN_PKGS = lua5.4 liblua5.4-dev lua-unit lua-cjson lua-argparse lua-check luarocks \
              lua-filesystem gcc make util-linux
# Run the specs inside a private mount namespace when we are root.
NS = $(shell [ "$$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null && echo "unshare -m --propagation private")

.PHONY: all deps test check asan valgrind lint bench fuzz fuzz-replay demo install clean

all: $(CORE)

# Install what a fresh Debian machine lacks (quiet and quick when all is there).
deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(CORE): $(SRC) $(HDR) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(KM_CFLAGS) $(LDFLAGS_SO) -o $@ $(SRC)

# SPECS=spec/foo_spec.lua runs a subset.
test: $(CORE)
	KATAMOUNT_BUILD=$(BUILD) $(NS) $(LUA) spec/run.lua $(SPECS)

check: test lint

ASAN_BUILD = build-asan
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
asan: deps
	@mkdir -p $(ASAN_BUILD)/katamount
	$(CC) $(ASAN_FLAGS) $(KM_CFLAGS) -Werror $(LDFLAGS_SO) -o $(ASAN_BUILD)/katamount/core.so $(SRC)
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	KATAMOUNT_BUILD=$(ASAN_BUILD) KATAMOUNT_SANITIZED=1 $(NS) $(LUA) spec/run.lua $(SPECS)

valgrind: $(CORE)
	@command -v valgrind >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get install -y -qq valgrind >/dev/null; }
	KATAMOUNT_BUILD=$(BUILD) KATAMOUNT_SANITIZED=1 $(NS) valgrind -q --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite $(LUA) spec/run.lua $(SPECS)

lint: deps
	luacheck lua rules bin spec bench

install: deps
	luarocks --lua-version 5.4 make katamount-scm-1.rockspec

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
