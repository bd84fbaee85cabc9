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
# libstdc++ (the Swift runtime's) and SQLite (the job history's) are linked statically too: the loader then
# relocates 165 symbols at start instead of 3,401 (`LD_DEBUG=statistics vhpc --version`; `vhpc --version`
# 0.78x). The linker takes the archives from STATIC_LIBS, searched before the system's directories, where the
# shared libraries are.
# Every module (ours and the packages') reaches the metadata of a concrete generic type (a [Int: Endpoint], a
# Set<Rank>) through its accessor instead of by demangling its name at run time: the run-time way looks up
# each generic argument's conformances, and every lookup that misses the cache scans all ~8,900 conformance
# records of the binary. `vhpc run -N 16 -- true` spent 7.6 ms of its 63 ms of CPU in
# those scans, 4.4 of them through demangled names. Both: 0.88x the wall time of `vhpc run -N 16 -- true`,
# `vhpc --version` 6 ms instead of 9 (README, Launch latency).
STATIC_LIBS := .build/static-libs
RELEASE_FLAGS := -c release -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
STATIC_LINK := --static-swift-stdlib -Xlinker -L$(CURDIR)/$(STATIC_LIBS)
release: deps
	mkdir -p $(STATIC_LIBS)
	ln -sf "$$(gcc -print-file-name=libstdc++.a)" $(STATIC_LIBS)/libstdc++.a
	ln -sf "$$(gcc -print-file-name=libsqlite3.a)" $(STATIC_LIBS)/libsqlite3.a
	$(SWIFT) build $(RELEASE_FLAGS) --product vhpc-guest
	$(SWIFT) build $(RELEASE_FLAGS) --product vhpc $(STATIC_LINK)
	$(SWIFT) build $(RELEASE_FLAGS) --product vhpc-agent $(STATIC_LINK)
	@for binary in vhpc vhpc-agent; do \
	  if ldd $(RELEASE_BIN)/$$binary | grep -qE 'libstdc\+\+|libsqlite3'; then \
	    echo "$(RELEASE_BIN)/$$binary: libstdc++ or SQLite linked dynamically ($(STATIC_LIBS) not searched first)" >&2; exit 1; \
	  fi; \
	done

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
