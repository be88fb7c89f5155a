# shmimg — build, demo, test. Bun comes from npm (pinned devDependency).
BUN := node_modules/.bin/bun
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SRC := $(shell find src -name '*.ts') package.json Makefile

.PHONY: all demo test typecheck bench soak clean distclean install uninstall examples

all: shmimg

node_modules/.bin/bun: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

native/libshim.so: native/shim.c
	gcc -O2 -Wall -Wextra -fPIC -shared -o $@ $<

# Example native ops (examples/ops/edge.c against native/shmimg_op.h); the tests build them.
examples: examples/ops/libedge.so

examples/ops/libedge.so: examples/ops/edge.c native/shmimg_op.h
	gcc -O3 -Wall -Wextra -fPIC -shared -Inative -o $@ $<

shmimg: node_modules/.bin/bun native/libshim.so $(SRC)
	$(BUN) build --compile --bytecode --format=esm --no-compile-autoload-dotenv --no-compile-autoload-bunfig src/cli.ts --outfile shmimg

# The binary is standalone (the C shim is embedded): one file to copy.
install: shmimg
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 shmimg $(DESTDIR)$(BINDIR)/shmimg

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/shmimg

demo: shmimg
	./run_demo.sh --mode=golden

typecheck: node_modules/.bin/bun
	node_modules/.bin/tsc --noEmit -p .

# The suite runs in its own IPC namespace when it can (root with unshare):
# nothing it does is visible to other users' pipelines. Otherwise it shares
# the machine's namespace and checks and removes only its own objects
# (test/census.ts).
# Bun 1.4.5 does not apply bunfig's [test] timeout (checked: a 6 s test fails at
# 5 s), so the per-test bound is given here; tests that spawn stages need it on
# a loaded machine.
TEST_FLAGS := --timeout 120000

test: shmimg typecheck examples
	@if [ "$$(id -u)" = 0 ] && unshare --ipc true 2>/dev/null; then \
	  echo "make test: private IPC namespace (unshare --ipc)"; unshare --ipc $(BUN) test $(TEST_FLAGS); \
	else \
	  echo "make test: shared IPC namespace: the suite checks only its own objects"; $(BUN) test $(TEST_FLAGS); \
	fi

bench: shmimg
	./shmimg bench

soak: shmimg
	$(BUN) test/soak.ts

clean:
	rm -f shmimg native/libshim.so examples/ops/libedge.so

distclean: clean
	rm -rf node_modules
