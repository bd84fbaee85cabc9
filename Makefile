# vhpc — the two commands of the README: `make run` and `make test` (Debian 12, as root).
SWIFT ?= /opt/swift/usr/bin/swift
ifeq ($(wildcard $(SWIFT)),)
SWIFT := swift
endif
RELEASE_BIN := .build/release
DEBUG_BIN := .build/debug

.PHONY: deps build release run test test-unit test-integration bench clean

deps:
	./scripts/install-deps.sh

release: deps
	$(SWIFT) build -c release --product vhpc-guest
	$(SWIFT) build -c release --product vhpc

build: deps
	$(SWIFT) build --product vhpc-guest
	$(SWIFT) build --product vhpc

# The main job on the embedded default (this machine).
run: release
	$(RELEASE_BIN)/vhpc vse build examples/tiny.yaml
	$(RELEASE_BIN)/vhpc vse boot examples/tiny.yaml -- sh -c 'echo "hello from $$(hostname) running $$(uname -r)"; cat /opt/hello.txt'

# Everything: unit tests, then integration tests (real VMs, real services).
test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip IntegrationTests
	$(SWIFT) test --skip-build --filter IntegrationTests

test-unit:
	$(SWIFT) test --skip IntegrationTests

bench: release
	$(RELEASE_BIN)/vhpc bench vse
	$(RELEASE_BIN)/vhpc bench wire
	$(RELEASE_BIN)/vhpc bench topology

clean:
	rm -rf .build
