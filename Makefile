# vhpc — the two commands of the README: `make run` and `make test` (Debian 12, as root).
SWIFT ?= /opt/swift/usr/bin/swift
ifeq ($(wildcard $(SWIFT)),)
SWIFT := swift
endif
RELEASE_BIN := .build/release
DEBUG_BIN := .build/debug

.PHONY: deps build release run test test-unit test-integration bench fuzz clean

deps:
	./scripts/install-deps.sh

# The release vhpc and vhpc-agent (every agent process of a job runs it; it goes next to vhpc) link the Swift
# runtime and Foundation statically: start-up without ~70 shared libraries to relocate is 10 ms instead of
# 20-30 ms (64 agents, one per process: 0.85 s instead of 1.4 s to wire, `vhpc bench bootstrap`).
release: deps
	$(SWIFT) build -c release --product vhpc-guest
	$(SWIFT) build -c release --product vhpc --static-swift-stdlib
	$(SWIFT) build -c release --product vhpc-agent --static-swift-stdlib

build: deps
	$(SWIFT) build --product vhpc-guest
	$(SWIFT) build --product vhpc
	$(SWIFT) build --product vhpc-agent

# The main job on the embedded default (the local launcher: the "cluster" is this machine):
# build the tiny VSE, boot 2 nodes x 2 VMs, run a command in every VM.
run: release
	$(RELEASE_BIN)/vhpc vse build examples/tiny.yaml
	$(RELEASE_BIN)/vhpc run --vse examples/tiny.yaml -N 2 --vms-per-node 2 -l -- \
	  sh -c 'echo "rank $$VHPC_RANK of $$VHPC_SIZE on node $$VHPC_NODE: $$(hostname), kernel $$(uname -r)"'

# Everything: unit tests, then integration tests (real VMs, real services).
test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip IntegrationTests
	# A real 3-node Slurm cluster (slurmctld + slurmd per network namespace) for the Slurm tests.
	./scripts/slurm-cluster.sh start
	# Line-buffered so a CI log shows the last test started even when the run is cut short.
	stdbuf -oL -eL timeout --kill-after=30 1800 $(SWIFT) test --skip-build --no-parallel --filter IntegrationTests

test-unit:
	$(SWIFT) test --skip IntegrationTests

bench: release
	$(RELEASE_BIN)/vhpc bench vse
	$(RELEASE_BIN)/vhpc bench wire
	$(RELEASE_BIN)/vhpc bench topology

# Every fuzzer (frames, control payloads, guest messages, VSE spec parser) for 1,000,000 executions each
# (FUZZ_RUNS=…), then one line per target: executions and crashes. Long (a sanitized release build, then
# minutes per target): not part of `make test`.
FUZZ_RUNS ?= 1000000
fuzz:
	./scripts/fuzz.sh $(FUZZ_RUNS)

clean:
	rm -rf .build
