#!/bin/bash
# A second libvirtd on this host that acts as a separate "host", so libvirt live migration can be tried
# and tested on one machine (libvirt refuses a destination whose host UUID is the source's).
#
#   scripts/libvirtd-peer.sh start DIR   start it; prints its URI (qemu+unix:///system?socket=DIR/sock/libvirt-sock)
#   scripts/libvirtd-peer.sh stop DIR    destroy its domains, stop it (by the pid in DIR/libvirtd.pid)
#   scripts/libvirtd-peer.sh uri DIR     print its URI
#
# How: libvirtd runs in its own mount namespace (`unshare --mount --propagation private`) where DIR's
# subdirectories are bind-mounted over the system daemon's directories — /etc/libvirt (a libvirtd.conf
# with its own host_uuid and unix_sock_dir, a qemu.conf), /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt, /var/log/libvirt — so its state, pid files, monitor sockets and logs never clash
# with the system daemon's. Its socket directory (DIR/sock) is not hidden, so clients outside the
# namespace reach it. Its qemu.conf logs QEMU's output to files (no virtlogd needed) and uses no
# cgroups (the system daemon's cgroup of a same-named domain would clash during a migration). The
# system daemon's QEMU capability cache is copied in, so the first domain start does not re-probe QEMU.
# The daemon's stdio goes to DIR/log/libvirtd.stderr and it inherits no other descriptor (a caller reading
# this script's output to its end would otherwise wait for the daemon).
# `stop` destroys the domains still on it (their QEMU would outlive the daemon), then ends it by its pid.
set -eu

usage() { echo "usage: $0 start|stop|uri DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
socket="$dir/sock/libvirt-sock"
uri="qemu+unix:///system?socket=$socket"
pidfile="$dir/libvirtd.pid"

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
    if alive; then echo "$uri"; return 0; fi
    command -v libvirtd >/dev/null || { echo "libvirtd not found (Debian: libvirt-daemon-system)" >&2; exit 1; }
    command -v unshare >/dev/null || { echo "unshare not found (Debian: util-linux)" >&2; exit 1; }
    mkdir -p "$dir/etc" "$dir/run" "$dir/lib" "$dir/cache/qemu" "$dir/log" "$dir/sock"
    rm -f "$socket" "$pidfile"
    [ -f "$dir/host-uuid" ] || cat /proc/sys/kernel/random/uuid > "$dir/host-uuid"
    cat > "$dir/etc/libvirtd.conf" <<EOF
# Written by scripts/libvirtd-peer.sh: a second libvirtd acting as another host.
host_uuid = "$(cat "$dir/host-uuid")"
unix_sock_dir = "$dir/sock"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:$dir/log/libvirtd.log"
EOF
    cat > "$dir/etc/qemu.conf" <<EOF
# Written by scripts/libvirtd-peer.sh.
stdio_handler = "file"
cgroup_controllers = [ ]
EOF
    if [ -d /var/cache/libvirt/qemu/capabilities ]; then
        cp -a /var/cache/libvirt/qemu/capabilities "$dir/cache/qemu/" 2>/dev/null || true
    fi
    for d in /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do mkdir -p "$d"; done
    # In a subshell: close every inherited descriptor but stdio (a caller's pipe or a Process's exit-watch
    # socket held by the daemon would make the caller wait for the daemon's end), then enter the namespace.
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec unshare --mount --propagation private sh -c '
            set -e
            dir=$1
            mount --bind "$dir/etc" /etc/libvirt
            mount --bind "$dir/run" /run/libvirt
            mount --bind "$dir/lib" /var/lib/libvirt
            mount --bind "$dir/cache" /var/cache/libvirt
            mount --bind "$dir/log" /var/log/libvirt
            exec libvirtd --daemon --config "$dir/etc/libvirtd.conf" --pid-file "$dir/libvirtd.pid"
        ' peer "$dir" </dev/null >>"$dir/log/libvirtd.stderr" 2>&1
    )
    i=0
    until [ -S "$socket" ] && alive && virsh -q -c "$uri" version >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 300 ]; then
            echo "peer libvirtd did not answer on $socket within 60 s; see $dir/log/libvirtd.log and libvirtd.stderr" >&2
            stop >/dev/null 2>&1 || true
            exit 1
        fi
        sleep 0.2
    done
    echo "$uri"
}

stop() {
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        # QEMU processes outlive their libvirtd: destroy the domains still on this daemon first.
        for domain in $(virsh -q -c "$uri" list --name 2>/dev/null); do
            virsh -q -c "$uri" destroy "$domain" >/dev/null 2>&1 || true
        done
        kill -TERM "$pid"
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 100 ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
            sleep 0.1
        done
    fi
    rm -f "$pidfile" "$socket"
}

case "$action" in
    start) start ;;
    stop) stop ;;
    uri) echo "$uri" ;;
    *) usage ;;
esac
