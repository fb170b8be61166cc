#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An HTTP/1.1 upstream whose behaviour is switched while it runs, for the
resilience tests and the outage benchmark.

  upstream.py --addr 198.18.1.2 --port 8081 --instance 1 --ctl /tmp/x/u1.sock --log /tmp/x/u1.jsonl

Keep-alive, one request at a time per connection (Content-Length bodies are
read and dropped). Modes, switched through the control socket (a Unix stream
socket: send one line, read "ok MODE" back), e.g.
`echo 503 | socat - UNIX-CONNECT:/tmp/x/u1.sock`:

  healthy     200, a 3-byte body ("ok\\n"), at once
  503         503 at once (the failing cache)
  hang        connections are accepted and requests read, never answered
  down        the listening socket is closed and every open connection cut:
              new connections are refused (RST) until another mode is set
  delay MS    200 after MS milliseconds

Paths, in any mode but hang and down: /delay/MS answers after MS ms;
/status/CODE answers CODE. Every answer carries x-instance and x-attempt (the
request's x-weft-attempt-count, "-" when absent).

The log gets one JSON line per second in which anything happened, written
when the second is over (and the rest at exit, on SIGTERM or SIGINT):
  {"t": EPOCH_SECOND, "instance": I, "port": P, "req": N (requests whose head
   was read), "status": {"200": N, ...}, "hung": N, "conns": N (accepted),
   "open_max": N (most connections open at once, when one was accepted),
   "attempt": {"1": N, "2": N, ...}, "due": {"EPOCH_SECOND": N, ...} (by the
   request's x-load-second, which loadgen.py sets to the second the request
   was due), "mode": MODE at the end of the second}
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time

REASONS = {200: "OK", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Upstream:
    def __init__(self, args):
        self.args = args
        self.mode = "healthy"
        self.delay_ms = 0
        self.server = None
        self.writers = set()
        self.secs = {}  # epoch second -> counters
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.last_flushed = int(time.time()) - 1

    def bucket(self):
        t = int(time.time())
        b = self.secs.get(t)
        if b is None:
            b = self.secs[t] = {"req": 0, "status": {}, "hung": 0, "conns": 0, "attempt": {}, "due": {}}
        return b

    def flush(self, upto):
        """Write every second before `upto` (all of them when None)."""
        for t in sorted(self.secs):
            if upto is not None and t >= upto:
                break
            b = self.secs.pop(t)
            if self.log:
                line = {"t": t, "instance": self.args.instance, "port": self.args.port}
                line.update(b)
                line["mode"] = self.mode
                self.log.write(json.dumps(line, sort_keys=True) + "\n")

    async def ticker(self):
        while True:
            now = time.time()
            await asyncio.sleep(1.0 - (now % 1.0) + 0.01)
            self.flush(int(time.time()))

    async def listen(self):
        sock = socket.socket(socket.AF_INET6 if ":" in self.args.addr else socket.AF_INET,
                             socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.args.addr, self.args.port))
        sock.listen(1024)
        self.server = await asyncio.start_server(self.serve, sock=sock)

    def unlisten(self):
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            # SO_LINGER 0: close with an RST, as a process that died would leave the peer
            try:
                s = w.get_extra_info("socket")
                if s is not None:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            w.transport.abort()
        self.writers.clear()

    async def set_mode(self, words):
        mode = words[0]
        if mode not in ("healthy", "503", "hang", "down", "delay"):
            return "error unknown mode " + mode
        if mode == "delay":
            self.delay_ms = int(words[1]) if len(words) > 1 else 1000
        was = self.mode
        self.mode = mode
        if mode == "down" and was != "down":
            self.unlisten()
        elif mode != "down" and was == "down":
            await self.listen()
        return "ok " + mode

    async def control(self, reader, writer):
        try:
            line = (await reader.readline()).decode().split()
            ans = await self.set_mode(line) if line else "error empty"
            writer.write((ans + "\n").encode())
            await writer.drain()
        finally:
            writer.close()

    async def serve(self, reader, writer):
        self.writers.add(writer)
        b = self.bucket()
        b["conns"] += 1
        b["open_max"] = max(b.get("open_max", 0), len(self.writers))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                path = parts[1] if len(parts) > 1 else "/"
                clen = 0
                attempt = "-"
                due = None
                close = False
                for h in lines[1:]:
                    k, _, v = h.partition(":")
                    k = k.strip().lower()
                    v = v.strip()
                    if k == "content-length":
                        clen = int(v)
                    elif k == "x-weft-attempt-count":
                        attempt = v
                    elif k == "x-load-second":
                        due = v
                    elif k == "connection" and v.lower() == "close":
                        close = True
                b = self.bucket()
                b["req"] += 1
                b["attempt"][attempt] = b["attempt"].get(attempt, 0) + 1
                if due is not None:
                    b["due"][due] = b["due"].get(due, 0) + 1
                if clen:
                    await reader.readexactly(clen)
                if self.mode == "hang":
                    b["hung"] += 1
                    # never answered; drain whatever comes until the peer leaves
                    while await reader.read(65536):
                        pass
                    return
                status, delay = 200, 0
                if self.mode == "503":
                    status = 503
                elif self.mode == "delay":
                    delay = self.delay_ms
                if path.startswith("/delay/"):
                    delay = int(path[7:].split("?")[0] or 0)
                elif path.startswith("/status/"):
                    status = int(path[8:11])
                if delay:
                    await asyncio.sleep(delay / 1000.0)
                    if self.mode in ("hang", "down"):
                        while await reader.read(65536):
                            pass
                        return
                body = b"ok\n" if status == 200 else b"failing\n"
                resp = ("HTTP/1.1 %d %s\r\nContent-Length: %d\r\nx-instance: %s\r\nx-attempt: %s\r\n%s\r\n"
                        % (status, REASONS.get(status, "Status"), len(body), self.args.instance, attempt,
                           "Connection: close\r\n" if close else "")).encode() + body
                writer.write(resp)
                await writer.drain()
                s = str(status)
                b = self.bucket()
                b["status"][s] = b["status"].get(s, 0) + 1
                if close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--instance", default="1")
    ap.add_argument("--ctl", required=True, help="control socket path")
    ap.add_argument("--log", help="per-second JSON lines")
    ap.add_argument("--mode", default="healthy")
    args = ap.parse_args()
    up = Upstream(args)
    if args.mode != "down":
        await up.listen()
    await up.set_mode(args.mode.split(":"))
    if os.path.exists(args.ctl):
        os.unlink(args.ctl)
    ctl = await asyncio.start_unix_server(up.control, path=args.ctl)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tick = asyncio.create_task(up.ticker())
    await stop.wait()
    tick.cancel()
    ctl.close()
    up.flush(None)
    try:
        os.unlink(args.ctl)
    except OSError:
        pass


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
