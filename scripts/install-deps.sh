#!/bin/sh
# Installs (idempotently) every Debian package vhpc and its tests use. Run as root.
set -eu
PACKAGES="qemu-system-x86 qemu-utils mmdebstrap e2fsprogs cpio busybox-static gzip lz4 xz-utils zstd kmod binutils
  util-linux iproute2 libvirt-daemon-system libvirt-clients libvirt-dev libssl-dev mpich libmpich-dev
  openssh-server openssh-client ca-certificates"
# Job history (GRDB links the system SQLite) and topology pictures (Graphviz's dot); the release binaries
# link SQLite and libstdc++ statically (Makefile, STATIC_LIBS; gcc finds the archives).
PACKAGES="$PACKAGES libsqlite3-dev gcc libstdc++-12-dev graphviz"
# The Slurm cluster of the tests (scripts/slurm-cluster.sh), its PMIx plugin, and Open MPI.
PACKAGES="$PACKAGES slurm-wlm slurmctld slurmd slurm-client munge libpmix-dev openmpi-bin"
# hwloc 2, loaded by the node agent to hand MPI ranks the node's topology (CHwloc; MPICH pulls it in too).
PACKAGES="$PACKAGES libhwloc15"
# Open MPI under vhpc run: its compiler wrapper, and OpenPMIx's server headers (the library is loaded at run
# time).
PACKAGES="$PACKAGES libopenmpi-dev"
# Spec setup steps run in a bubblewrap sandbox (user, mount, pid namespaces).
PACKAGES="$PACKAGES bubblewrap"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The image builder resolves kernel packages with apt-cache: the package lists must exist.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  apt-get update -q
fi
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
fi

# Without udev (containers, minimal VMs) /dev/kvm stays root-only; libvirt's QEMU then cannot use it,
# judges its capability cache stale and re-probes QEMU on every domain start (~50 s each). Debian's
# udev rule would make it group kvm, mode 0660: do the same.
if [ -e /dev/kvm ] && getent group kvm >/dev/null; then
  chgrp kvm /dev/kvm && chmod 660 /dev/kvm
fi
