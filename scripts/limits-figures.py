#!/usr/bin/env python3
"""Figures for orderd's connection limits (docs/limits.md) — a measurement, not a test.

1. p99 of normal requests (wrk -t1 -c16, GET /api/products/1) on an unloaded orderd,
   then with IDLE idle keep-alive connections and SLOW slowloris connections (one byte
   every few seconds) held open; the ratio of the two p99s.
2. Descriptor exhaustion: orderd under RLIMIT_NOFILE 256 with --max-connections above
   it and FLOOD client connections held: its CPU (utime+stime over 10 s, from
   /proc/PID/stat) and its log lines per minute.
3. A pipelining client that never reads: the growth of orderd's VmRSS.

Every loop is bounded in count and time; only 127.0.0.1 is used. Environment:
ORDERD_BIN (build/orderd), IDLE (10000), SLOW (2000), FLOOD (1500).
"""
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time

ORDERD = os.environ.get("ORDERD_BIN", "build/orderd")
IDLE = int(os.environ.get("IDLE", "10000"))
SLOW = int(os.environ.get("SLOW", "2000"))
FLOOD = int(os.environ.get("FLOOD", "1500"))


def start(args, nofile=None):
    log = tempfile.NamedTemporaryFile(prefix="orderd-figures-", delete=False)

    def limit():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    p = subprocess.Popen([ORDERD, "--listen", "127.0.0.1:0", "--debug-listen", "127.0.0.1:0",
                          "--log-level", "warn"] + args,
                         stdout=subprocess.PIPE, stderr=log, preexec_fn=limit)
    line = p.stdout.readline().decode()
    m = re.search(r"public=[^ ]*:(\d+) debug=[^ ]*:(\d+)", line)
    if not m:
        p.kill()
        sys.exit("orderd did not start: " + line)
    return p, int(m.group(1)), log.name


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def wrk_p99(port, seconds=5):
    out = subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % seconds, "--latency",
                          "http://127.0.0.1:%d/api/products/1" % port],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def connect_many(port, n):
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    return socks


def figure_held_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = IDLE + SLOW + 1000
    if hard < need:
        print("held connections: skipped, needs a descriptor limit of %d (have %d)" % (need, hard))
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    p, port, log = start(["--max-connections", str(IDLE + SLOW + 100), "--header-timeout", "60s"])
    base = wrk_p99(port)
    idle = connect_many(port, IDLE)
    slow = connect_many(port, SLOW)
    for s in slow:
        s.send(b"GET /api/products/1 HTTP/1.1\r\nHost: x\r\n")
    loaded = wrk_p99(port)
    for s in slow:
        try:
            s.send(b"X")
        except OSError:
            pass
    print("held connections: %d idle + %d slowloris; p99 unloaded %.2f ms, held %.2f ms, ratio %.2f"
          % (len(idle), len(slow), base, loaded, loaded / base if base else 0))
    for s in idle + slow:
        s.close()
    stop(p)
    os.unlink(log)


def figure_descriptor_exhaustion():
    p, port, log = start(["--max-connections", "100000"], nofile=256)
    socks = connect_many(port, FLOOD)
    time.sleep(1)
    lines0 = sum(1 for _ in open(log))
    c0, t0 = cpu_seconds(p.pid), time.time()
    time.sleep(10)
    c1, t1 = cpu_seconds(p.pid), time.time()
    lines1 = sum(1 for _ in open(log))
    for s in socks:
        s.close()
    t2 = time.time()
    ok = False
    while time.time() - t2 < 10 and not ok:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            c.sendall(b"GET /api/products/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            ok = c.recv(12) == b"HTTP/1.1 200"
            c.close()
        except OSError:
            time.sleep(0.1)
    print("descriptor exhaustion: %d clients, limit 256: CPU %.1f%% of one core, %.0f log lines/min, "
          "answering again %.2f s after they left: %s"
          % (len(socks), 100 * (c1 - c0) / (t1 - t0), (lines1 - lines0) * 60 / (t1 - t0), time.time() - t2, ok))
    stop(p)
    os.unlink(log)


def figure_pipeliner():
    p, port, log = start([])
    time.sleep(0.5)
    before = rss_kb(p.pid)
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    req = b"GET /api/products?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n" * 20000
    sent, t0 = 0, time.time()
    while sent < len(req) and time.time() - t0 < 5:
        try:
            sent += s.send(req[sent:])
        except BlockingIOError:
            time.sleep(0.05)
    time.sleep(1)
    after = rss_kb(p.pid)
    print("non-reading pipeliner: %d requests sent, VmRSS grew %d KiB" % (sent // 52, after - before))
    s.close()
    stop(p)
    os.unlink(log)


if __name__ == "__main__":
    figure_held_connections()
    figure_descriptor_exhaustion()
    figure_pipeliner()
