# shmimg — build, demo, test. Bun comes from npm (pinned devDependency).
BUN := node_modules/.bin/bun
SRC := $(shell find src -name '*.ts') package.json Makefile

.PHONY: all demo test typecheck bench soak clean distclean

all: shmimg

node_modules/.bin/bun: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

native/libshim.so: native/shim.c
	gcc -O2 -Wall -Wextra -fPIC -shared -o $@ $<

shmimg: node_modules/.bin/bun native/libshim.so $(SRC)
	$(BUN) build --compile --bytecode --format=esm --no-compile-autoload-dotenv --no-compile-autoload-bunfig src/cli.ts --outfile shmimg

demo: shmimg
	./run_demo.sh --mode=golden

typecheck: node_modules/.bin/bun
	node_modules/.bin/tsc --noEmit -p .

test: shmimg typecheck
	$(BUN) test

bench: shmimg
	./shmimg bench

soak: shmimg
	$(BUN) test/soak.ts

clean:
	rm -f shmimg native/libshim.so

distclean: clean
	rm -rf node_modules
