#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A barrage of malformed and unwanted frames for weftd's network layer.

Each case names the drop reason weftd must count it under. --list prints
"reason count description" lines; --send transmits every case COUNT times.
Addresses: weft owns 198.18.0.1 and 2001:db8::1; this host is .2 / ::2.
"""
import argparse
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6EchoRequest,
                       ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPOption_RR, IPv6,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, Raw, conf, get_if_hwaddr,
                       sendp)

COUNT = 5
W4, C4 = "198.18.0.1", "198.18.0.2"
W6, C6 = "2001:db8::1", "2001:db8::2"


def cases(wmac, cmac):
    e = Ether(dst=wmac, src=cmac)
    e4 = Ether(dst=wmac, src=cmac, type=0x0800)
    e6 = Ether(dst=wmac, src=cmac, type=0x86DD)
    ip = IP(src=C4, dst=W4)
    ip6 = IPv6(src=C6, dst=W6)
    ns_dst = "ff02::1:ff00:1"  # solicited-node group of 2001:db8::1
    ns_mac = "33:33:ff:00:00:01"

    def raw_ip(**kw):
        # Build a valid header, then break one field without scapy fixing it.
        p = IP(src=C4, dst=W4, **kw) / ICMP() / Raw(b"x" * 8)
        return bytes(p)

    def with_bytes(b, off, val):
        b = bytearray(b)
        b[off] = val
        return bytes(b)

    good = raw_ip()
    return [
        ("eth_not_for_us", Ether(dst="02:00:00:00:00:99", src=cmac) / ip / ICMP(), "unicast to another MAC"),
        ("eth_unknown_type", Ether(dst=wmac, src=cmac, type=0x88B5) / Raw(b"\0" * 46), "unknown ethertype 0x88b5"),
        ("eth_vlan", e / Dot1Q(vlan=7) / ip / ICMP(), "VLAN 7 tagged echo"),
        ("eth_bad_src", Ether(dst=wmac, src="01:00:5e:00:00:01") / ip / ICMP(), "multicast source MAC"),
        ("arp_malformed", Ether(dst=wmac, src=cmac, type=0x0806) / Raw(b"\x00\x01\x08\x00\x06\x04"), "truncated ARP"),
        ("arp_bad_op", e / ARP(op=7, hwsrc=cmac, psrc=C4, pdst=W4), "ARP operation 7"),
        ("arp_not_for_us", Ether(dst="ff:ff:ff:ff:ff:ff", src=cmac) / ARP(op=1, hwsrc=cmac, psrc=C4, pdst="198.18.0.77"), "ARP request for another address"),
        ("arp_bad_sender", Ether(dst="ff:ff:ff:ff:ff:ff", src=cmac) / ARP(op=1, hwsrc=cmac, psrc="224.0.0.5", pdst=W4), "ARP sender multicast"),
        ("ip4_too_short", e4 / Raw(b"\x45\x00\x00"), "IPv4 header cut at 3 bytes"),
        ("ip4_bad_version", e4 / Raw(with_bytes(good, 0, 0x55)), "IP version 5"),
        ("ip4_bad_ihl", e4 / Raw(with_bytes(good, 0, 0x44)), "IHL 4"),
        ("ip4_bad_checksum", e4 / Raw(with_bytes(good, 10, good[10] ^ 0xFF)), "bad header checksum"),
        ("ip4_bad_length", e4 / Raw(bytes(IP(src=C4, dst=W4, len=1400) / ICMP())), "total length beyond the frame"),
        ("ip4_ttl_zero", e / IP(src=C4, dst=W4, ttl=0) / ICMP(), "TTL 0"),
        ("ip4_options", e / IP(src=C4, dst=W4, options=[IPOption_RR()]) / ICMP(), "record-route option"),
        ("ip4_fragment", e / IP(src=C4, dst=W4, flags="MF", frag=0) / ICMP() / Raw(b"y" * 16), "first fragment"),
        ("ip4_fragment", e / IP(src=C4, dst=W4, frag=100) / Raw(b"y" * 16), "later fragment"),
        ("ip4_bad_src", e / IP(src="127.0.0.1", dst=W4) / ICMP(), "loopback source"),
        ("ip4_bad_src", e / IP(src="224.1.1.1", dst=W4) / ICMP(), "multicast source"),
        ("ip4_not_for_us", e / IP(src=C4, dst="198.18.0.77") / ICMP(), "destination not ours"),
        ("ip4_unknown_proto", e / IP(src=C4, dst=W4, proto=253) / Raw(b"z" * 8), "protocol 253"),
        ("icmp_bad_checksum", e / ip / ICMP(chksum=0x1234) / Raw(b"p" * 8), "echo with a bad checksum"),
        ("icmp_unhandled_type", e / ip / ICMP(type=13), "ICMP timestamp request"),
        ("icmp_too_short", e / IP(src=C4, dst=W4, proto=1) / Raw(b"\x08\x00"), "ICMP cut at 2 bytes"),
        ("tcp_no_listener", e / ip / TCP(sport=40000, dport=80, flags="S"), "TCP SYN to a closed port"),
        ("udp_no_listener", e / ip / UDP(sport=40000, dport=53) / Raw(b"q"), "UDP to a closed port"),
        ("ip6_too_short", e6 / Raw(b"\x60\x00\x00\x00"), "IPv6 header cut at 4 bytes"),
        ("ip6_bad_version", e6 / Raw(bytes([0x40]) + bytes(ip6 / ICMPv6EchoRequest())[1:]), "version 4 in an IPv6 frame"),
        ("ip6_bad_length", e6 / Raw(bytes(IPv6(src=C6, dst=W6, plen=1400) / ICMPv6EchoRequest())), "payload length beyond the frame"),
        ("ip6_bad_src", e / IPv6(src="::1", dst=W6) / ICMPv6EchoRequest(), "loopback source"),
        ("ip6_bad_src", e / IPv6(src="ff02::1", dst=W6) / ICMPv6EchoRequest(), "multicast source"),
        ("ip6_not_for_us", e / IPv6(src=C6, dst="2001:db8::77") / ICMPv6EchoRequest(), "destination not ours"),
        ("ip6_fragment", e / ip6 / IPv6ExtHdrFragment(m=1, id=7) / ICMPv6EchoRequest(), "fragment header"),
        ("ip6_ext_header", e / ip6 / IPv6ExtHdrHopByHop() / ICMPv6EchoRequest(), "hop-by-hop options"),
        ("ip6_unknown_proto", e / IPv6(src=C6, dst=W6, nh=132) / Raw(b"z" * 8), "next header 132 (SCTP)"),
        ("icmp6_bad_checksum", e / ip6 / ICMPv6EchoRequest(cksum=0x1234), "echo with a bad checksum"),
        ("nd_bad_hop_limit", Ether(dst=ns_mac, src=cmac) / IPv6(src=C6, dst=ns_dst, hlim=64) / ICMPv6ND_NS(tgt=W6) / ICMPv6NDOptSrcLLAddr(lladdr=cmac), "NS with hop limit 64"),
        ("nd_not_for_us", e / IPv6(src=C6, dst=W6, hlim=255) / ICMPv6ND_NS(tgt="2001:db8::77") / ICMPv6NDOptSrcLLAddr(lladdr=cmac), "NS for another target"),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--mac", required=True, help="weft's MAC")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--send", action="store_true")
    a = ap.parse_args()
    conf.verb = 0
    cmac = get_if_hwaddr(a.iface)
    cs = cases(a.mac, cmac)
    if a.list:
        # One line per reason, with the number of frames expected under it.
        want = {}
        desc = {}
        for reason, _, d in cs:
            want[reason] = want.get(reason, 0) + COUNT
            desc.setdefault(reason, []).append(d)
        for reason in want:
            print(reason, want[reason], "; ".join(desc[reason]))
    if a.send:
        frames = []
        for _, f, _ in cs:
            frames += [f] * COUNT
        sendp(frames, iface=a.iface, inter=0.002)
        print(len(frames), "frames sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
