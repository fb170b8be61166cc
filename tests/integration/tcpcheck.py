#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Clients and servers for weft's TCP integration tests and benchmarks.

Every byte stream is a deterministic function of a seed, so the far end of a
transfer knows the SHA-256 it must see without the data ever being stored:

  tcpcheck.py digest --seed S --bytes N          print the stream's sha256
  tcpcheck.py serve  --port P --mode MODE ...    a server (see MODES)
  tcpcheck.py blast  --connect A P --bytes N ... send and receive at once, check both ends
  tcpcheck.py halfclose --connect A P ...        send, shut down, read the peer's digest
  tcpcheck.py many   --connect A P --conns K     K connections open at once, echo, close
  tcpcheck.py probe  --connect A P ...           what happens: refused, reset, eof, timeout
  tcpcheck.py goodput --connect A P --conns K --seconds T   bytes/s into a sink
  tcpcheck.py cps    --connect A P --seconds T --procs N    connections per second

Server modes:
  blast   send --bytes of the stream seeded --seed and read everything at once;
          one JSON line per connection (received bytes and sha256) to --log
  echo    send back what arrives, close after the peer's FIN
  digest  read to EOF, answer "BYTES SHA256\\n", close
  sink    read and discard
  hold    accept and never read (the client's window closes)
  count   like echo, and append "port" to --log per connection (round robin checks)

Results are JSON on stdout; exit status 0 means every check passed. Every
blocking call has a timeout (--timeout, seconds), so a test never hangs.
"""
import argparse
import asyncio
import errno
import hashlib
import json
import multiprocessing
import os
import random
import socket
import sys
import threading
import time

BLOCK = (1 << 20) + 7  # odd length: stream offsets never line up with segment sizes
CHUNK = 256 * 1024


class Stream:
    """Byte i of the stream is block[i % BLOCK]; block comes from the seed."""

    def __init__(self, seed):
        block = random.Random(seed).randbytes(BLOCK)
        self.buf = memoryview(block + block[:CHUNK])

    def chunk(self, offset, n):
        o = offset % BLOCK
        return self.buf[o:o + min(n, CHUNK)]


def digest(seed, nbytes):
    s, h, off = Stream(seed), hashlib.sha256(), 0
    while off < nbytes:
        c = s.chunk(off, nbytes - off)
        h.update(c)
        off += len(c)
    return h.hexdigest()


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def connect(addr, port, timeout):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def send_stream(sock, seed, nbytes, result):
    """Send nbytes of the stream, then shut down the write side. Runs in a thread."""
    s, off = Stream(seed), 0
    try:
        while off < nbytes:
            off += sock.send(s.chunk(off, nbytes - off))
        sock.shutdown(socket.SHUT_WR)
        result["sent"] = off
    except OSError as e:
        result["sent"] = off
        result["send_error"] = errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__


def recv_all(sock, h=None):
    """Read to EOF. Returns (bytes, error name or None)."""
    n, buf = 0, bytearray(CHUNK)
    try:
        while True:
            k = sock.recv_into(buf)
            if k == 0:
                return n, None
            if h is not None:
                h.update(memoryview(buf)[:k])
            n += k
    except OSError as e:
        if isinstance(e, socket.timeout):
            return n, "timeout"
        return n, errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__


def wait_acked(sock, timeout):
    """Wait until the peer has acknowledged everything we sent (the send queue is empty).

    Closing earlier would leave Linux an orphaned socket with data to deliver;
    behind a proxy that is applying backpressure, its zero-window probes can
    run out (tcp_orphan_retries) and the kernel resets the connection.
    """
    import fcntl
    import termios
    end = time.monotonic() + timeout
    buf = bytearray(4)
    while time.monotonic() < end:
        try:
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)
        except OSError:
            return
        if int.from_bytes(buf, sys.byteorder) == 0:
            return
        time.sleep(0.02)


def exchange(sock, seed, nbytes, expect):
    """Send our stream while reading theirs; both directions at once."""
    res = {}
    t = threading.Thread(target=send_stream, args=(sock, seed, nbytes, res), daemon=True)
    t0 = time.monotonic()
    t.start()
    h = hashlib.sha256()
    n, err = recv_all(sock, h)
    t.join(timeout=sock.gettimeout() or 60)
    if err is None:
        wait_acked(sock, sock.gettimeout() or 60)
    res.update(received=n, sha256=h.hexdigest(), seconds=round(time.monotonic() - t0, 3))
    if err:
        res["recv_error"] = err
    if expect:
        res["match"] = res["sha256"] == expect
    return res


# ---- servers -----------------------------------------------------------------

def serve_conn(conn, peer, a, log_lock):
    conn.settimeout(a.timeout)
    try:
        if a.mode == "blast":
            res = exchange(conn, a.seed, a.bytes, a.expect)
            res["peer"] = peer[0]
            with log_lock, open(a.log, "a") as f:
                f.write(json.dumps(res) + "\n")
        elif a.mode in ("echo", "count"):
            if a.mode == "count":
                with log_lock, open(a.log, "a") as f:
                    f.write("%d\n" % a.port)
            while True:
                d = conn.recv(CHUNK)
                if not d:
                    break
                conn.sendall(d)
        elif a.mode == "digest":
            h = hashlib.sha256()
            n, err = recv_all(conn, h)
            if err is None:
                conn.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
        elif a.mode == "sink":
            recv_all(conn)
        elif a.mode == "hold":
            time.sleep(a.timeout)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def cmd_serve(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family(a.addr) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((a.addr, a.port))
    s.listen(4096)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    lock = threading.Lock()
    if a.mode in ("echo", "count") and not a.threads:
        return asyncio.run(serve_echo_async(s, a, lock))
    while True:
        conn, peer = s.accept()
        threading.Thread(target=serve_conn, args=(conn, peer, a, lock), daemon=True).start()


async def serve_echo_async(lsock, a, lock):
    async def handle(reader, writer):
        if a.mode == "count":
            with lock, open(a.log, "a") as f:
                f.write("%d\n" % a.port)
        try:
            while True:
                d = await reader.read(65536)
                if not d:
                    break
                writer.write(d)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, sock=lsock, backlog=4096)
    async with server:
        await server.serve_forever()


# ---- clients -----------------------------------------------------------------

def cmd_blast(a):
    t0 = time.monotonic()
    try:
        s = connect(a.connect[0], int(a.connect[1]), a.timeout)
    except OSError as e:
        print(json.dumps({"connect_error": errno.errorcode.get(e.errno, str(e))}))
        return 1
    res = exchange(s, a.seed, a.bytes, a.expect)
    s.close()
    res["wall"] = round(time.monotonic() - t0, 3)
    print(json.dumps(res))
    ok = res.get("sent") == a.bytes and "recv_error" not in res and "send_error" not in res
    if a.expect:
        ok = ok and res["match"] and res["received"] == a.expect_bytes
    return 0 if ok else 1


def cmd_halfclose(a):
    s = connect(a.connect[0], int(a.connect[1]), a.timeout)
    res = {}
    send_stream(s, a.seed, a.bytes, res)
    reply = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        reply += d
    s.close()
    want = "%d %s" % (a.bytes, digest(a.seed, a.bytes))
    got = reply.decode(errors="replace").strip()
    print(json.dumps({"sent": res.get("sent"), "reply": got, "match": got == want}))
    return 0 if got == want else 1


def cmd_probe(a):
    """Connect, send --bytes (then half-close), read to the end; classify the outcome."""
    out = {"outcome": None}
    t0 = time.monotonic()
    try:
        s = connect(a.connect[0], int(a.connect[1]), a.timeout)
    except OSError as e:
        name = "timeout" if isinstance(e, socket.timeout) else errno.errorcode.get(e.errno, str(e))
        # An RST that follows the handshake at once can beat connect() back to the caller.
        out.update(outcome={"ECONNREFUSED": "refused", "ECONNRESET": "reset"}.get(name, name))
        out["seconds"] = round(time.monotonic() - t0, 3)
        print(json.dumps(out))
        return 0
    try:
        if a.bytes:
            # Send, then half-close: an echo server answers and ends the connection.
            s.sendall(b"x" * a.bytes)
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                # An RST that arrived after the send closed the socket: shutdown() says
                # ENOTCONN, the pending ECONNRESET comes with the read below.
                if e.errno != errno.ENOTCONN:
                    raise
        n, err = recv_all(s)
        out["received"] = n
        out["outcome"] = {"ECONNRESET": "reset", None: "eof"}.get(err, err)
    except OSError as e:
        out["outcome"] = "reset" if e.errno == errno.ECONNRESET else errno.errorcode.get(e.errno, str(e))
    out["seconds"] = round(time.monotonic() - t0, 3)
    s.close()
    print(json.dumps(out))
    return 0


async def many_one(a, i, opened, barrier_evt, results):
    payload = (b"%06d" % i) * (a.msg // 6 + 1)
    payload = payload[:a.msg]
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(a.connect[0], int(a.connect[1])), a.timeout)
    except (OSError, asyncio.TimeoutError) as e:
        results["connect_fail"] += 1
        results.setdefault("errors", {}).setdefault(type(e).__name__ + str(getattr(e, "errno", "")), 0)
        opened.append(False)
        if len(opened) == a.conns:
            barrier_evt.set()
        return
    opened.append(True)
    if len(opened) == a.conns:
        barrier_evt.set()
    try:
        # Everyone connected before anyone talks: the connections are concurrent.
        await asyncio.wait_for(barrier_evt.wait(), a.timeout)
        w.write(payload)
        await w.drain()
        got = await asyncio.wait_for(r.readexactly(len(payload)), a.timeout)
        w.write_eof()
        rest = await asyncio.wait_for(r.read(), a.timeout)
        if got == payload and rest == b"":
            results["ok"] += 1
        else:
            results["bad_data"] += 1
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        results["io_fail"] += 1
        k = type(e).__name__
        results.setdefault("errors", {})[k] = results.get("errors", {}).get(k, 0) + 1
    finally:
        w.close()


async def many_main(a):
    results = {"ok": 0, "connect_fail": 0, "io_fail": 0, "bad_data": 0}
    opened, evt = [], asyncio.Event()
    t0 = time.monotonic()
    await asyncio.gather(*(many_one(a, i, opened, evt, results) for i in range(a.conns)))
    results["seconds"] = round(time.monotonic() - t0, 3)
    return results


def cmd_many(a):
    res = asyncio.run(many_main(a))
    res["conns"] = a.conns
    print(json.dumps(res))
    return 0 if res["ok"] == a.conns else 1


def goodput_conn(addr, port, seconds, out):
    """Send for `seconds`, then half-close and wait for the sink's EOF: every byte counted has arrived."""
    try:
        s = connect(addr, port, 60)
    except OSError:
        out.append((0, 0.0))
        return
    buf = memoryview(os.urandom(CHUNK))
    n, t0 = 0, time.monotonic()
    end = t0 + seconds
    try:
        while time.monotonic() < end:
            n += s.send(buf)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    except OSError:
        pass
    out.append((n, time.monotonic() - t0))
    s.close()


def goodput_proc(addr, port, seconds, conns, q):
    out = []
    ts = [threading.Thread(target=goodput_conn, args=(addr, port, seconds, out)) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put(out)


def cmd_goodput(a):
    """K connections push data into a sink for T seconds; report Mbit/s of what arrived."""
    q = multiprocessing.Queue()
    nproc = max(1, min(a.procs, a.conns))
    split = [a.conns // nproc + (1 if i < a.conns % nproc else 0) for i in range(nproc)]
    procs = [multiprocessing.Process(target=goodput_proc, args=(a.connect[0], int(a.connect[1]), a.seconds, k, q))
             for k in split]
    for p in procs:
        p.start()
    res = []
    for _ in procs:
        res += q.get(timeout=a.seconds + 120)
    for p in procs:
        p.join(timeout=30)
    total = sum(r[0] for r in res)
    dt = max((r[1] for r in res), default=0.0)
    failed = sum(1 for r in res if r[0] == 0)
    print(json.dumps({"bytes": total, "seconds": round(dt, 3), "conns": a.conns, "failed": failed,
                      "mbit_s": round(total * 8 / dt / 1e6, 1) if dt else 0}))
    return 0 if failed == 0 else 1


def cps_worker(addr, port, seconds, q):
    fam = family(addr)
    n, fail, end = 0, 0, time.monotonic() + seconds
    while time.monotonic() < end:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((addr, port))
            s.sendall(b"ping")
            if s.recv(16) == b"ping":
                n += 1
            else:
                fail += 1
        except OSError:
            fail += 1
        finally:
            s.close()
    q.put((n, fail))


def cmd_cps(a):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=cps_worker, args=(a.connect[0], int(a.connect[1]), a.seconds, q))
             for _ in range(a.procs)]
    for p in procs:
        p.start()
    res = [q.get(timeout=a.seconds + 60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    ok, fail = sum(r[0] for r in res), sum(r[1] for r in res)
    print(json.dumps({"connections": ok, "failed": fail, "cps": round(ok / a.seconds, 1)}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cmd", choices=["digest", "serve", "blast", "halfclose", "many", "probe", "goodput", "cps"])
    p.add_argument("--connect", nargs=2, metavar=("ADDR", "PORT"))
    p.add_argument("--addr", default="::")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--mode", default="blast", choices=["blast", "echo", "digest", "sink", "hold", "count"])
    p.add_argument("--threads", action="store_true", help="echo with a thread per connection")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--expect", help="sha256 the received stream must have")
    p.add_argument("--expect-bytes", type=int, default=0, help="with --expect: bytes to receive")
    p.add_argument("--log", default="/dev/null")
    p.add_argument("--pidfile")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--msg", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--procs", type=int, default=4)
    a = p.parse_args()
    if a.cmd == "digest":
        print(digest(a.seed, a.bytes))
        return 0
    return {"serve": cmd_serve, "blast": cmd_blast, "halfclose": cmd_halfclose, "many": cmd_many,
            "probe": cmd_probe, "goodput": cmd_goodput, "cps": cmd_cps}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
