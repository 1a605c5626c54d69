#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile load on a node's client port, and a watch on what the node holds meanwhile.

flood.py flood ADDRESS SECONDS SOURCE... : opens connections to ADDRESS as fast as it can for
    SECONDS, from the SOURCE IPs in turn (bound before connecting), each one of: half-open (says
    nothing, held), an unfinished large frame (held), garbage, framed garbage, a reset. At most
    HOLD (400) are held at once, the oldest closed first. Prints what it did as JSON.
flood.py watch PID PORT SECONDS : samples the daemon PID every 50 ms for SECONDS: its VmRSS and
    the TCP connections it holds on local PORT, in total and per remote address (see sample()).
    Prints the peaks as JSON."""
import collections
import errno
import json
import os
import socket
import struct
import subprocess
import sys
import time

HOLD = 400


def flood(address, seconds, sources):
    host, port = address.rsplit(":", 1)
    target = (host, int(port))
    held = collections.deque()
    stats = collections.Counter()
    kinds = ["half-open", "big-frame", "garbage", "framed-garbage", "reset"]
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        kind = kinds[i % len(kinds)]
        src = sources[i % len(sources)]
        i += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((src, 0))
            s.setblocking(False)
            try:
                s.connect(target)
            except BlockingIOError:
                pass
            stats["attempts"] += 1
            if kind == "garbage":
                s.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            elif kind == "framed-garbage":
                s.send(b"\x00\x00\x00\x05\xff\xff\xff\xff\xff")
            elif kind == "big-frame":
                s.send(struct.pack(">I", 900 * 1024) + os.urandom(256) * 1024)
            elif kind == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError as e:
            # Not connected yet (the send comes too early), refused, reset: all part of a flood.
            stats["errno-" + errno.errorcode.get(e.errno, str(e.errno))] += 1
        if kind in ("half-open", "big-frame"):
            held.append(s)
            while len(held) > HOLD:
                held.popleft().close()
        else:
            s.close()
        stats[kind] += 1
    for s in held:
        s.close()
    stats["seconds"] = seconds
    print(json.dumps(stats, sort_keys=True))


def socket_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def held_connections(pid, port):
    """Remote IPs of the TCP connections the process holds on local port (any state but
    listening). Asked of the kernel through ss (netlink, filtered there), which stays fast while
    the flood leaves thousands of TIME_WAIT entries behind; each socket inode counts once."""
    inodes = socket_inodes(pid)
    out = subprocess.run(["ss", "-tnHe", "state", "connected", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    remotes = {}
    for line in out.splitlines():
        field = line.split()
        inode = next((f[4:] for f in field if f.startswith("ino:")), None)
        if inode in inodes:
            remotes[inode] = field[4].rsplit(":", 1)[0]  # state, recv-q, send-q, local, peer
    return list(remotes.values())


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sample(pid, port):
    """Connections held, in total and per address. A connection refused for its address is
    accepted and closed at once: a reading that falls in between (the daemon descheduled there
    on a busy machine) sees one more than the daemon keeps. So each sample is two readings 20 ms
    apart, and counts what both saw."""
    first = collections.Counter(held_connections(pid, port))
    time.sleep(0.02)
    second = collections.Counter(held_connections(pid, port))
    return min(sum(first.values()), sum(second.values())), first & second


def watch(pid, port, seconds):
    peak = {"rss_kib": 0, "connections": 0, "per_address": 0, "address": "", "samples": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            rss = rss_kib(pid)
            total, per = sample(pid, port)
        except (FileNotFoundError, ProcessLookupError):
            peak["died"] = True
            break
        peak["samples"] += 1
        peak["rss_kib"] = max(peak["rss_kib"], rss)
        peak["connections"] = max(peak["connections"], total)
        if per:
            ip, n = per.most_common(1)[0]
            if n > peak["per_address"]:
                peak["per_address"], peak["address"] = n, ip
        time.sleep(0.03)
    print(json.dumps(peak, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    elif sys.argv[1] == "watch":
        watch(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
