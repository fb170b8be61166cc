#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An HTTP/1.1 upstream for weft's integration tests: it says which instance
answered and what it received.

  httpecho.py --addr 198.18.1.2 --port 8081 --instance 1 [--log FILE]

Every answer carries x-instance (the instance id) and x-conn (a number per
TCP connection, so that a client can tell keep-alive reuse), and the
x-echo-* fields of the request echoed back as they came. Paths:

  /bytes/N[?chunked=1]    N deterministic bytes (sha256 of --seed's stream),
                          with Content-Length, or chunked
  /status/CODE            that status, a short body
  /close                  a body delimited by closing the connection
  /truncate               announces 100000 bytes, sends 1000, then resets the connection
  /slow/MS                answers after MS milliseconds
  anything else           a JSON object: instance, conn, method, path (with
                          the query), the request's fields in order, and the
                          body's length and sha256 (Content-Length or chunked)

Its log (--log) gets one line per connection opened: "conn INSTANCE N".
"""
import argparse
import hashlib
import http
import json
import socket
import socketserver
import sys
import threading
import time

CHUNK = 1 << 16


def stream_bytes(n, seed=b"weft"):
    """n bytes of a stream any side can recompute: sha256 counter blocks."""
    out = []
    i = 0
    left = n
    while left > 0:
        block = hashlib.sha256(seed + i.to_bytes(8, "big")).digest() * 2048  # 64 KiB
        out.append(block[:left])
        left -= len(out[-1])
        i += 1
    return b"".join(out)


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 1 << 16
    wbufsize = 0

    def setup(self):
        super().setup()
        srv = self.server
        with srv.lock:
            srv.conns += 1
            self.conn_id = srv.conns
        if srv.log:
            with open(srv.log, "a") as f:
                f.write("conn %s %d\n" % (srv.instance, self.conn_id))

    def read_line(self):
        line = self.rfile.readline(65537)
        if not line:
            raise EOFError
        return line

    def read_body(self, fields, h):
        te = [v for k, v in fields if k.lower() == "transfer-encoding"]
        cl = [v for k, v in fields if k.lower() == "content-length"]
        n = 0
        if te:
            while True:
                size = int(self.read_line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.read_line() not in (b"\r\n", b"\n"):
                        pass
                    break
                left = size
                while left > 0:
                    b = self.rfile.read(min(left, CHUNK))
                    if not b:
                        raise EOFError
                    h.update(b)
                    left -= len(b)
                    n += len(b)
                self.read_line()
        elif cl:
            left = int(cl[0])
            while left > 0:
                b = self.rfile.read(min(left, CHUNK))
                if not b:
                    raise EOFError
                h.update(b)
                left -= len(b)
                n += len(b)
        return n

    def send(self, status, fields, body=b"", chunked=False, close=False):
        srv = self.server
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        head = ["HTTP/1.1 %d %s" % (status, phrase), "x-instance: %s" % srv.instance, "x-conn: %d" % self.conn_id]
        head += ["%s: %s" % kv for kv in fields]
        if close:
            head.append("connection: close")
        elif chunked:
            head.append("transfer-encoding: chunked")
        else:
            head.append("content-length: %d" % len(body))
        out = ("\r\n".join(head) + "\r\n\r\n").encode()
        if chunked:
            self.wfile.write(out)
            for i in range(0, len(body), CHUNK):
                part = body[i:i + CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(out + body)

    def handle(self):
        try:
            while self.one():
                pass
        except (EOFError, ConnectionError, ValueError):
            pass

    def one(self):
        line = self.read_line()
        while line in (b"\r\n", b"\n"):
            line = self.read_line()
        method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        fields = []
        while True:
            l = self.read_line()
            if l in (b"\r\n", b"\n"):
                break
            k, _, v = l.decode("latin-1").rstrip("\r\n").partition(":")
            fields.append((k, v.strip()))
        h = hashlib.sha256()
        n = self.read_body(fields, h)
        close = any(k.lower() == "connection" and "close" in v.lower() for k, v in fields)
        echo = [("x-echo-" + k.lower(), v) for k, v in fields if k.lower().startswith("x-")]
        path = target.split("?")[0]
        if path.startswith("/bytes/"):
            size = int(path.split("/")[2])
            self.send(200, echo, stream_bytes(size), chunked="chunked=1" in target, close=close)
        elif path.startswith("/status/"):
            self.send(int(path.split("/")[2]), echo, b"status\n", close=close)
        elif path == "/truncate":
            self.wfile.write(("HTTP/1.1 200 X\r\nx-instance: %s\r\ncontent-length: 100000\r\n\r\n"
                              % self.server.instance).encode() + b"t" * 1000)
            time.sleep(0.2)
            # SO_LINGER 0: close() sends an RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return False
        elif path == "/close":
            self.send(200, echo, b"until close\n" * 100, close=True)
            self.wfile.write(b"until close\n" * 100)
            return False
        else:
            if path.startswith("/slow/"):
                time.sleep(int(path.split("/")[2]) / 1000.0)
            body = json.dumps({
                "instance": self.server.instance, "conn": self.conn_id, "method": method, "path": target,
                "headers": fields, "body_len": n, "body_sha256": h.hexdigest(),
            }).encode() + b"\n"
            self.send(200, echo + [("content-type", "application/json")], body, close=close)
        return not close


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, instance, log):
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = fam
        super().__init__(addr, Handler)
        self.instance = instance
        self.log = log
        self.lock = threading.Lock()
        self.conns = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="0.0.0.0")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--instance", default="1")
    ap.add_argument("--log")
    ap.add_argument("--digest", type=int, help="print the sha256 of /bytes/N and exit")
    a = ap.parse_args()
    if a.digest is not None:
        print(hashlib.sha256(stream_bytes(a.digest)).hexdigest())
        return 0
    srv = Server((a.addr, a.port), a.instance, a.log)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
