#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the seed scripts of tests/fuzz/corpus/tcp_segment/ for
# fuzz_tcp_segment (see the format in fuzz_tcp_segment.c):
#   tests/fuzz/tcp_corpus.py tests/fuzz/corpus/tcp_segment
import os
import struct
import sys

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
# cfg byte
LISTENER, PASSIVE, ACTIVE = 0, 1, 2
V6, TS, SACK, WS, NEWRENO, BACKLOG1 = 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


def seg(flags, seq=('rel', 0), ack=('una', 0), wnd=65535, length=0, ts=False, sack=(), raw=b'',
        other_port=None, bad_cksum=False, split=0):
    ctl = 0
    tail = b''
    kind, v = seq
    if kind == 'rel':
        ctl |= 0
        sq = struct.pack('>h', v)
    elif kind == 'abs':
        ctl |= 1
        sq = struct.pack('>I', v)
    elif kind == 'mss':
        ctl |= 2
        sq = struct.pack('>B', v)
    else:
        ctl |= 3
        sq = struct.pack('>H', v)
    kind, v = ack
    if kind == 'una':
        ak = struct.pack('>h', v)
    elif kind == 'abs':
        ctl |= 1 << 2
        ak = struct.pack('>I', v)
    elif kind == 'max':
        ctl |= 2 << 2
        ak = struct.pack('>H', v)
    else:  # 'nxt'
        ctl |= 3 << 2
        ak = b''
    port = b''
    if other_port is not None:
        ctl |= 0x10
        port = bytes([other_port])
    if ts:
        ctl |= 0x20
        tail += bytes([1])
    if sack:
        ctl |= 0x40
        tail += bytes([len(sack) - 1])
        for s, e in sack:
            tail += struct.pack('>HH', s // 4, (e - s) // 4)
    if raw:
        ctl |= 0x80
        tail += bytes([len(raw)]) + raw
    extra = (0x40 if bad_cksum else 0) | (split & 0x1f)
    return (bytes([0, ctl, flags, extra]) + port + sq + ak + struct.pack('>HH', wnd, length) + tail)


def advance(ms):
    if ms < 128:
        return bytes([4, ms])
    return bytes([4, 0x80 | min(ms // 1000, 127)])


def send(n):
    return bytes([5, (n & 15), n >> 8])


def app(action, conn=0):
    return bytes([6, (conn << 4) | action])


def connect():
    return bytes([7, 0])


SYN_OPTS = bytes([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2, 1, 1, 8, 10, 0, 0, 0x13, 0x88, 0, 0, 0, 0])
seeds = {}
est = bytes([PASSIVE | TS | SACK | WS, 0x00, 7])
est6 = bytes([ACTIVE | V6 | TS | SACK | WS, 0x00, 7])

seeds['syn_plain'] = bytes([LISTENER, 0]) + seg(SYN, seq=('abs', 1000000), ack=('abs', 0)) + advance(50) + \
    seg(ACK, seq=('rel', 0), ack=('nxt', 0)) + seg(ACK | PSH, length=100, ack=('nxt', 0)) + advance(60)
seeds['syn_options'] = bytes([LISTENER, 0]) + seg(SYN, seq=('abs', 1000000), ack=('abs', 0), raw=SYN_OPTS) + \
    advance(127) + advance(2000) + seg(ACK, seq=('rel', 0), ack=('nxt', 0), ts=True)
seeds['syn_cookies'] = bytes([LISTENER | BACKLOG1, 0]) + b''.join(
    seg(SYN, seq=('abs', 5000 * i), ack=('abs', 0), raw=SYN_OPTS[:12], other_port=i) for i in range(4)) + \
    seg(ACK, seq=('rel', 0), ack=('nxt', 0), other_port=3)
seeds['syn_closed_port'] = bytes([LISTENER, 0]) + seg(SYN, seq=('abs', 7), ack=('abs', 0), other_port=0x85) + \
    seg(ACK, seq=('abs', 9), ack=('abs', 12345), other_port=0x85)
seeds['data_inorder'] = est + b''.join(seg(ACK | PSH, seq=('mss', i), length=1448, ts=True) for i in range(6)) + \
    advance(50)
seeds['data_ooo'] = est + seg(ACK, seq=('mss', 2), length=1448, ts=True) + \
    seg(ACK, seq=('mss', 4), length=1448, ts=True) + seg(ACK, seq=('mss', 1), length=1448, ts=True) + \
    seg(ACK, seq=('rel', 0), length=1448, ts=True, split=9) + advance(50)
seeds['data_small_rcvbuf'] = bytes([PASSIVE | TS, 0x01 | 0x80, 0]) + \
    b''.join(seg(ACK, seq=('mss', i), length=1448) for i in range(5)) + app(0) + advance(100)
seeds['fin_passive'] = est + seg(ACK | PSH, length=10, ts=True) + seg(FIN | ACK, ts=True) + app(2) + \
    seg(ACK, ack=('nxt', 0), ts=True) + advance(100)
seeds['fin_active_close'] = est + app(5) + app(2) + seg(ACK, ack=('nxt', 0), ts=True) + \
    seg(FIN | ACK, ack=('nxt', 0), ts=True) + advance(127) + advance(3000) + \
    seg(SYN, seq=('abs', 9000000), ack=('abs', 0), raw=SYN_OPTS)
seeds['rst_inwindow'] = est + seg(RST, seq=('rel', 100), ts=True) + seg(RST | ACK, seq=('rel', 0))
seeds['rst_synrcvd'] = bytes([LISTENER, 0]) + seg(SYN, seq=('abs', 1), ack=('abs', 0)) + \
    seg(RST, seq=('rel', 0), ack=('abs', 0))
seeds['syn_in_established'] = est + seg(SYN, seq=('rel', 5), ack=('abs', 0), ts=True) + advance(10)
seeds['sack_recovery'] = est + send(15000) + advance(1) + \
    seg(ACK, ack=('una', 0), ts=True, sack=[(1448, 2896)]) + \
    seg(ACK, ack=('una', 0), ts=True, sack=[(1448, 4344)]) + \
    seg(ACK, ack=('una', 0), ts=True, sack=[(1448, 5792)]) + \
    seg(ACK, ack=('una', 0), ts=True, sack=[(7240, 8688), (1448, 5792)]) + \
    seg(ACK, ack=('una', 5792), ts=True, sack=[(7240, 8688)]) + advance(127) + advance(2000)
seeds['dupacks_newreno'] = bytes([PASSIVE | NEWRENO, 0, 0]) + send(12000) + \
    b''.join(seg(ACK, ack=('una', 0)) for _ in range(4)) + seg(ACK, ack=('una', 2896)) + \
    seg(ACK, ack=('nxt', 0)) + advance(50)
seeds['window_probe'] = est + send(8000) + seg(ACK, ack=('nxt', 0), wnd=0, ts=True) + app(7) + \
    advance(127) + advance(3000) + seg(ACK, ack=('nxt', 0), wnd=0, ts=True) + advance(127) + \
    seg(ACK, ack=('nxt', 0), wnd=8192, ts=True) + advance(20)
seeds['rto_timeout'] = est + send(3000) + advance(0x80 | 60) + advance(0x80 | 120)
seeds['keepalive'] = est + app(4) + advance(0x80 | 5) + advance(0x80 | 5)
seeds['paws_old_ts'] = est + seg(ACK | PSH, length=100, ts=True) + \
    seg(ACK | PSH, seq=('rel', 0), length=100, raw=bytes([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]))
seeds['active_v6'] = est6 + send(3000) + seg(ACK | PSH, ack=('nxt', 0), length=500, ts=True) + \
    connect() + app(1) + seg(FIN | ACK, ack=('nxt', 0), ts=True) + advance(100)
seeds['bad_options'] = est + seg(ACK, raw=bytes([5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 1, 8, 3, 0, 0])) + \
    seg(ACK, raw=bytes([3, 0, 0, 0])) + seg(ACK, raw=bytes([8, 10, 0, 0, 0, 1, 0, 0, 0]))
seeds['bad_cksum'] = est + seg(ACK | PSH, length=100, bad_cksum=True) + seg(ACK | PSH, length=100)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
