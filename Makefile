# katamount -- build, test, bench, install, lint.
#
#   make            build build/katamount/core.so (installs missing Debian packages first)
#   make test       run the luaunit specs (as root: inside `unshare -m`, so test mounts never leak)
#   make demo       plan the example pod with the bundled rules (the main job)
#   make asan       the specs against a core built with AddressSanitizer + UBSan
#   make valgrind   the specs under valgrind memcheck
#   make lint       luacheck over every Lua file (lua/, rules/, spec/, bench/, examples/, ...) and bin/katamount
#   make bench      the benchmarks (root, inside `unshare -m`)
#   make fuzz       each libFuzzer target for FUZZ_SECONDS; make fuzz-replay replays the corpus
#   make doc        the HTML API documentation (core and engine, LDoc) in build/doc
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
              lua-filesystem gcc make util-linux mount tar findutils e2fsprogs erofs-utils
# Run the specs inside a private mount namespace when we are root.
NS = $(shell [ "$$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null && echo "unshare -m --propagation private")

# valgrind 3.19 does not know statmount(2) (457), listmount(2) (458) or
# openat2(2) (437) and warns in five lines at each call; the core then falls
# back to the mount table (tree_size: to openat per component), which the
# specs check. The warning is dropped from the log shown, everything else
# valgrind says is kept.
export VALGRIND_LOG_FILTER := /unhandled amd64-linux syscall: (437|45[78])$$/ { skip = 4; next } \
  skip > 0 { skip--; next } { print }

.PHONY: all deps need-root test check asan valgrind lint bench fuzz fuzz-replay fuzz-deps demo doc install clean demo-direct

all: $(CORE)

# Install what a fresh Debian machine lacks (quiet and quick when all is there).
# Installing needs root: without it, one line says what is missing.
deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  [ "$$(id -u)" = 0 ] || { echo "make: missing Debian packages:$$missing (run make as root to install them)" >&2; exit 2; }; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The specs, the demo and the benchmarks mount inside a private mount
# namespace: say so in one line before installing or building anything.
need-root:
	@[ "$$(id -u)" = 0 ] || { echo "make $(or $(MAKECMDGOALS),all): needs root (it installs Debian packages and mounts tmpfs inside \`unshare -m\`)" >&2; exit 2; }

$(CORE): $(SRC) $(HDR) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(KM_CFLAGS) $(LDFLAGS_SO) -o $@ $(SRC)

# The specs' own tools (spec/tools/): an attacker's helpers built as C
# programs (exchange: two paths swapped atomically, again and again).
SPEC_TOOLS = build-spec-tools
SPEC_BINS  = $(SPEC_TOOLS)/exchange
$(SPEC_TOOLS)/%: spec/tools/%.c | deps
	@mkdir -p $(SPEC_TOOLS)
	$(CC) $(CFLAGS) $(WARN) -o $@ $<

# SPECS=spec/foo_spec.lua runs a subset.
test: need-root $(CORE) $(SPEC_BINS)
	KATAMOUNT_BUILD=$(BUILD) $(NS) $(LUA) spec/run.lua $(SPECS)

check: test lint

ASAN_BUILD = build-asan
# (tree_size walks component by component there, not with openat2, so that
# the suite runs both of its ways)
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -DKM_TREE_NO_OPENAT2
asan: need-root deps $(SPEC_BINS)
	@mkdir -p $(ASAN_BUILD)/katamount
	$(CC) $(ASAN_FLAGS) $(KM_CFLAGS) -Werror $(LDFLAGS_SO) -o $(ASAN_BUILD)/katamount/core.so $(SRC)
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	KATAMOUNT_BUILD=$(ASAN_BUILD) KATAMOUNT_SANITIZED=1 $(NS) $(LUA) spec/run.lua $(SPECS)

valgrind: need-root $(CORE) $(SPEC_BINS)
	@command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
	rm -f $(BUILD)/valgrind.log
	KATAMOUNT_BUILD=$(BUILD) KATAMOUNT_SANITIZED=1 $(NS) valgrind -q --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite --log-file=$(BUILD)/valgrind.log \
	  $(LUA) spec/run.lua $(SPECS); rc=$$?; \
	awk "$$VALGRIND_LOG_FILTER" $(BUILD)/valgrind.log >&2; exit $$rc

lint: deps
	luacheck . bin/katamount

# The main job: plan the example pod (examples/pod/config.json, its root
# filesystem mount with three erofs layers in examples/pod/rootfs.json) with the
# bundled rules. examples/setup.sh builds the host side of its mounts (kubelet
# volumes, device nodes, tmpfs) inside a private mount namespace that vanishes
# with the command: nothing is written on the host. Needs root.
DEMO_PLAN = bin/katamount plan examples/pod/config.json --rootfs examples/pod/rootfs.json
# the table with the guest side of each mount (DEMO_ARGS=--agent: what kata's
# agent would receive; DEMO_ARGS=--explain: every rule tried)
DEMO_ARGS ?= -o destination,source,type,class,action,rule,guest
demo: need-root $(CORE)
	@KATAMOUNT_BUILD=$(BUILD) unshare -m --propagation private \
	  sh -c 'examples/setup.sh && $(LUA) $(DEMO_PLAN) $(DEMO_ARGS)'

# The second example: a database pod with a direct-assigned volume (a
# mountInfo.json naming a block device), /dev/shm and a nydus root filesystem
# (served by nydusd: kata's shared_fs virtio-fs-nydus).
DEMO_DIRECT_PLAN = bin/katamount plan examples/pod-direct/config.json --rootfs examples/pod-direct/rootfs.json \
  --set shared_fs=virtio-fs-nydus
demo-direct: need-root $(CORE)
	@KATAMOUNT_BUILD=$(BUILD) unshare -m --propagation private \
	  sh -c 'examples/setup.sh && $(LUA) $(DEMO_DIRECT_PLAN) $(DEMO_ARGS)'

# Benchmarks (bench/): a Lua driver over the core and the engine, a monotonic
# clock module, the syscall floors timed in C, and two fixture helpers that
# make files and mounts with syscalls rather than one process each.
BENCH_TOOLS = build-bench-tools
BENCH_BINS  = $(BENCH_TOOLS)/benchclock.so $(BENCH_TOOLS)/benchfloor.so $(BENCH_TOOLS)/mkfiles $(BENCH_TOOLS)/mkmounts

$(BENCH_TOOLS)/bench%.so: bench/%.c
	@mkdir -p $(BENCH_TOOLS)
	$(CC) -O2 $(WARN) -fPIC -I$(LUA_INC) $(LDFLAGS_SO) -o $@ $<

$(BENCH_TOOLS)/mk%: bench/mk%.c
	@mkdir -p $(BENCH_TOOLS)
	$(CC) -O2 $(WARN) -o $@ $<

bench: need-root $(CORE) $(BENCH_BINS)
	KATAMOUNT_BUILD=$(BUILD) BENCH_TOOLS=$(BENCH_TOOLS) $(NS) $(LUA) bench/run.lua

# Fuzzing (spec/fuzz/): libFuzzer targets built with clang into build-fuzz/.
# The targets embed Lua (the static liblua, never linked into the module).
# `make fuzz FUZZ_SECONDS=N` runs each target N seconds, new inputs going to
# build-fuzz/corpus/<target>, crashes to build-fuzz/artifacts/<target>/ (keep a
# fixed crash as spec/fuzz/regressions/<target>/<name>). `make fuzz-replay`
# runs every seed and every kept regression input once (CI). mountinfo inputs
# go up to 128 KiB: lines past KM_MOUNTINFO_LINE_MAX (64 KiB) must be skipped.
FUZZ_CC      ?= clang
FUZZ_BUILD    = build-fuzz
FUZZ_TARGETS  = fuzz_mountinfo fuzz_clean fuzz_layers fuzz_boundary
FUZZ_CFLAGS   = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -I$(LUA_INC) -Ic -DKM_LUA_DIR='"$(CURDIR)/lua"'
FUZZ_LIBS     = /usr/lib/$(shell $(CC) -print-multiarch)/liblua5.4.a -lm -ldl
FUZZ_BINS     = $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
FUZZ_ENV      = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The release's own clang and its libFuzzer runtime (Debian's `clang` and
# `libclang-rt-dev`: clang 14 on Debian 12, 19 on Debian 13), installed when a
# one-line fuzz target does not link.
FUZZ_PROBE = int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }
fuzz-deps: need-root
	@echo '$(FUZZ_PROBE)' | $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    clang libclang-rt-dev liblua5.4-dev >/dev/null; }

$(FUZZ_BUILD)/%: spec/fuzz/%.c $(SRC) $(HDR) | fuzz-deps
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(SRC) $(FUZZ_LIBS)

# the layer-option parser is Lua: its target embeds Lua and nothing of the core
$(FUZZ_BUILD)/fuzz_layers: spec/fuzz/fuzz_layers.c | fuzz-deps
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	  echo "== $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_ENV) $(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$$([ $$t = fuzz_mountinfo ] && echo 131072 || echo 8192) \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ \
	    $(FUZZ_BUILD)/corpus/$$t $$(ls -d spec/fuzz/corpus/$$t spec/fuzz/regressions/$$t 2>/dev/null); \
	done

fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  dirs=$$(ls -d spec/fuzz/corpus/$$t spec/fuzz/regressions/$$t 2>/dev/null || true); \
	  n=$$(find $$dirs -type f | wc -l); \
	  echo "== $$t: replaying $$n inputs"; \
	  find $$dirs -type f -print0 | \
	    xargs -0 -r env $(FUZZ_ENV) $(FUZZ_BUILD)/$$t -timeout=10 -rss_limit_mb=2048 2>$(FUZZ_BUILD)/$$t.replay.log \
	    || { tail -n 40 $(FUZZ_BUILD)/$$t.replay.log; exit 1; }; \
	done

# The API documentation (config.ld: the LDoc blocks of c/*.c and
# lua/katamount/*.lua) in build/doc/index.html; fails on any LDoc warning.
doc:
	@command -v ldoc >/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "make doc: lua-ldoc is missing (run make doc as root to install it)" >&2; exit 2; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-ldoc >/dev/null; }
	@rm -rf $(BUILD)/doc
	@out=$$(ldoc -d $(BUILD)/doc . 2>&1 | grep -v '^reading configuration\|^output written'); \
	  [ -z "$$out" ] && [ -f $(BUILD)/doc/index.html ] || { echo "$$out" >&2; exit 1; }
	@echo "API documentation: $(BUILD)/doc/index.html"

install: deps
	LUAROCKS_CONFIG=$(CURDIR)/luarocks-offline.lua luarocks --lua-version 5.4 make katamount-scm-1.rockspec

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz $(SPEC_TOOLS)
