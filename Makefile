# sandq — the two entry points of the README, plus the pieces they use.
#   make demo   build, start the local stack and a worker, launch a real sandbox, show it working
#   make test   install what is missing, build, start the stack, run every test
.PHONY: demo test setup build build-asan unit integration stack-up stack-down clean

BUILD ?= build

demo:
	@scripts/demo

test:
	@scripts/test

setup:
	@scripts/setup

build:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(BUILD)

build-asan:
	@cmake -S . -B build-asan -G Ninja -DSANITIZE=ON >/dev/null
	@ninja -C build-asan

stack-up: build
	@scripts/stack up

stack-down:
	@scripts/stack down

clean:
	rm -rf $(BUILD) build-asan
