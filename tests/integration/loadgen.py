#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An open-loop HTTP/1.1 load generator: a constant request rate, whatever the
answers do, for the resilience tests and the outage benchmark.

  loadgen.py --addr 198.18.0.1 --port 80 --rate 300 --seconds 30 --log /tmp/x/client.jsonl

Request i is due at start + i / rate. A due request takes an idle keep-alive
connection of the pool, or opens a new one (up to --max-conns; beyond that it
waits for one to come free, and its latency still counts from when it was
due, so a slow proxy cannot hide its queue). A connection the server closes
or resets is dropped and replaced by the next request that needs one. A
request without a complete response within --timeout seconds is a failure
("timeout") and its connection is closed. Every request carries
x-load-second: EPOCH_SECOND (the second it was due), so that upstream.py can
count the attempts made for the requests of each second, however late they
arrive.

The log gets one JSON line per second of the run, by the second the request
was due (EPOCH seconds), written at the end:
  {"t": EPOCH_SECOND, "sent": N, "ok": N (2xx), "fail": {"503": N, "504": N,
   "timeout": N, "reset": N, "refused": N, ...}, "overflow": N (answers with
   x-weft-overflow), "p50_ms": X, "p99_ms": X, "max_ms": X (latencies of
   every answer, any status)}
and a summary on stderr.

  loadgen.py --addr 198.18.0.1 --burst 10 --path /delay/1000 --host brk.test
      Opens 10 connections at once, sends one request on each, and prints one
      JSON object: {"status": {"200": N, "503": N, "error": N}, "overflow":
      {"max_requests": N, ...} (by x-weft-overflow), "reason": {x-weft-reason: N}}.
"""
import argparse
import asyncio
import json
import socket
import sys
import time


class Stats:
    def __init__(self):
        self.secs = {}

    def get(self, t):
        b = self.secs.get(t)
        if b is None:
            b = self.secs[t] = {"sent": 0, "ok": 0, "fail": {}, "overflow": 0, "lat": []}
        return b

    def fail(self, t, why):
        b = self.get(t)
        b["fail"][why] = b["fail"].get(why, 0) + 1


class Conn:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer


async def read_response(reader):
    """Returns (status, headers dict, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for h in lines[1:]:
        if not h:
            continue
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    keep = hdrs.get("connection", "").lower() != "close" and lines[0].startswith("HTTP/1.1")
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        if n:
            await reader.readexactly(n)
    elif hdrs.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2) if size else None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
    elif status not in (204, 304) and status >= 200:
        await reader.read()  # delimited by close
        keep = False
    return status, hdrs, keep


class Load:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.idle = []
        self.nconns = 0
        self.waiters = asyncio.Queue()
        self.pending = set()
        req = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (args.method, args.path, args.host)
        for h in args.header:
            req += h + "\r\n"
        self.req = (req + "\r\n").encode()
        self.req_head = req.encode()  # each scheduled request adds x-load-second

    async def get_conn(self):
        if self.idle:
            return self.idle.pop()
        if self.nconns < self.args.max_conns:
            self.nconns += 1
            try:
                r, w = await asyncio.open_connection(self.args.addr, self.args.port)
            except BaseException:
                self.nconns -= 1
                raise
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return Conn(r, w)
        fut = asyncio.get_running_loop().create_future()
        await self.waiters.put(fut)
        return await fut

    def put_conn(self, c):
        while not self.waiters.empty():
            fut = self.waiters.get_nowait()
            if not fut.done():
                fut.set_result(c)
                return
        self.idle.append(c)

    def drop_conn(self, c):
        self.nconns -= 1
        c.writer.transport.abort()
        # someone waiting for a connection may open a new one now
        while not self.waiters.empty():
            fut = self.waiters.get_nowait()
            if not fut.done():
                fut.set_exception(LookupError("retry"))
                return

    async def one(self, due):
        t = int(due)
        b = self.stats.get(t)
        b["sent"] += 1
        conn = None
        try:
            async with asyncio.timeout(self.args.timeout) if hasattr(asyncio, "timeout") else _Deadline(self.args.timeout):
                while conn is None:
                    try:
                        conn = await self.get_conn()
                    except LookupError:
                        conn = None
                conn.writer.write(self.req_head + b"x-load-second: %d\r\n\r\n" % t)
                status, hdrs, keep = await read_response(conn.reader)
        except (TimeoutError, asyncio.TimeoutError):
            self.stats.fail(t, "timeout")
            if conn is not None:
                self.drop_conn(conn)
            return
        except ConnectionRefusedError:
            self.stats.fail(t, "refused")
            return
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError, IndexError):
            self.stats.fail(t, "reset")
            if conn is not None:
                self.drop_conn(conn)
            return
        lat = (time.time() - due) * 1000.0
        b["lat"].append(lat)
        if 200 <= status < 300:
            b["ok"] += 1
        else:
            self.stats.fail(t, str(status))
        if "x-weft-overflow" in hdrs:
            b["overflow"] += 1
        if keep:
            self.put_conn(conn)
        else:
            self.drop_conn(conn)

    async def run(self):
        a = self.args
        start = a.start_at if a.start_at else time.time()
        while time.time() < start:
            await asyncio.sleep(start - time.time())
        n = int(a.rate * a.seconds)
        for i in range(n):
            due = start + i / a.rate
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(due))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
        if self.pending:
            await asyncio.wait(list(self.pending))
        for c in self.idle:
            c.writer.close()


class _Deadline:
    """asyncio.timeout() for Pythons before 3.11."""

    def __init__(self, secs):
        self.secs = secs

    async def __aenter__(self):
        self.task = asyncio.current_task()
        self.handle = asyncio.get_running_loop().call_later(self.secs, self.task.cancel)
        self.fired = False

    async def __aexit__(self, et, e, tb):
        self.handle.cancel()
        if et is asyncio.CancelledError:
            raise asyncio.TimeoutError()
        return False


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, int(p / 100.0 * len(v)))], 2)


async def burst(args, load):
    res = {"status": {}, "overflow": {}, "reason": {}}

    async def one():
        try:
            r, w = await asyncio.open_connection(args.addr, args.port)
        except OSError:
            res["status"]["refused"] = res["status"].get("refused", 0) + 1
            return
        try:
            w.write(load.req)
            status, hdrs, _ = await asyncio.wait_for(read_response(r), args.timeout)
            k = str(status)
            for name, field in (("overflow", "x-weft-overflow"), ("reason", "x-weft-reason")):
                if field in hdrs:
                    res[name][hdrs[field]] = res[name].get(hdrs[field], 0) + 1
        except (asyncio.TimeoutError, TimeoutError):
            k = "timeout"
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError, IndexError):
            k = "error"
        finally:
            w.transport.abort()
        res["status"][k] = res["status"].get(k, 0) + 1

    await asyncio.gather(*(one() for _ in range(args.burst)))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--host", default="svc.test")
    ap.add_argument("--path", default="/")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--header", action="append", default=[], help="NAME: VALUE, repeatable")
    ap.add_argument("--rate", type=float, default=300)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--max-conns", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--start-at", type=float, default=0, help="epoch time of the first request")
    ap.add_argument("--log", help="per-second JSON lines")
    ap.add_argument("--burst", type=int, default=0, help="N requests at once, one per connection")
    args = ap.parse_args()
    load = Load(args)
    if args.burst:
        print(json.dumps(asyncio.run(burst(args, load)), sort_keys=True))
        return
    asyncio.run(load.run())
    tot = {"sent": 0, "ok": 0}
    out = open(args.log, "w") if args.log else None
    for t in sorted(load.stats.secs):
        b = load.stats.secs[t]
        tot["sent"] += b["sent"]
        tot["ok"] += b["ok"]
        line = {"t": t, "sent": b["sent"], "ok": b["ok"], "fail": b["fail"], "overflow": b["overflow"],
                "p50_ms": pct(b["lat"], 50), "p99_ms": pct(b["lat"], 99),
                "max_ms": round(max(b["lat"]), 2) if b["lat"] else None}
        if out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
    if out:
        out.close()
    print("loadgen: %d sent, %d ok (%.2f%%), %d connections at most" %
          (tot["sent"], tot["ok"], 100.0 * tot["ok"] / max(1, tot["sent"]), args.max_conns), file=sys.stderr)


if __name__ == "__main__":
    main()
