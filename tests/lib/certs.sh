#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/certs.sh DIR: make the certificates the TLS tests use, with the
# openssl CLI, into DIR (created if missing). Takes a second or two.
#
#   ca.pem ca.key                 test root CA (ECDSA P-256), trust bundle
#   crl.pem                       CRL of the root, revoking revoked.pem
#   server-ec.{pem,key}           ECDSA P-256, DNS api.weft.test, *.apps.weft.test,
#                                 URI spiffe://weft.test/ns/default/sa/api
#   server-rsa.{pem,key}          RSA-2048, DNS rsa.weft.test,
#                                 URI spiffe://weft.test/ns/default/sa/rsa
#   other.{pem,key}               ECDSA, DNS other.weft.test (SNI selection)
#   wild.{pem,key}                ECDSA, DNS *.wild.weft.test
#   client.{pem,key}              client, URI spiffe://weft.test/ns/web/sa/frontend
#   client2.{pem,key}             client, URI spiffe://weft.test/ns/db/sa/reader
#   client-big.{pem,key}          client with 8 long DNS SANs (identity too big for a ticket)
#   client-two-uris.{pem,key}     client with two URI SANs (no SPIFFE ID per X509-SVID)
#   expired.{pem,key}             client, expired in 2021
#   future.{pem,key}              client, valid from 2090
#   revoked.{pem,key}             client, revoked in crl.pem
#   unknown-ca.pem                another root; unknown.{pem,key} a client it signed
#   server-expired.pem, server-future.pem  server certs for load-time checks (keys: *-expired.key ...)
#   garbled.pem                   a PEM whose base64 is damaged
#   server-ec2.{pem,key}          ECDSA, the same names as server-ec with a new key (rotation)
#   wrong-san.{pem,key}           client, URI spiffe://weft.test/ns/evil/sa/intruder: verifies,
#                                 but outside the ns/web principals the tests allow
#   dbx.{pem,key}                 client, URI spiffe://weft.test/ns/dbx/sa/reader (not in ns/db)
#   team-a.{pem,key}              client, URI spiffe://weft.test/ns/a/sa/one (client-two-uris' first)
#   admin.{pem,key}               client, URI spiffe://weft.test/ns/ops/sa/admin
#   mesh.{pem,key}                weft's own client identity to upstreams,
#                                 URI spiffe://weft.test/ns/mesh/sa/weft
#   backend.{pem,key}             an upstream server: DNS api.backend.weft.test,
#                                 URI spiffe://weft.test/ns/backend/sa/api
set -euo pipefail

DIR=${1:?usage: certs.sh DIR}
mkdir -p "$DIR"
cd "$DIR"

TD=spiffe://weft.test
# Quiet, deterministic enough: every run makes fresh keys.
ossl() { openssl "$@" 2>/dev/null; }

ecgen() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
rsagen() { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# ca NAME SUBJECT: a self-signed root in NAME.pem / NAME.key, with an
# `openssl ca` database in NAME.db/.
ca() {
	local name=$1 subj=$2
	ecgen "$name.key"
	ossl req -new -x509 -key "$name.key" -out "$name.pem" -days 3650 -subj "$subj" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	mkdir -p "$name.db"
	: >"$name.db/index.txt"
	echo 1000 >"$name.db/serial"
	echo 1000 >"$name.db/crlnumber"
	cat >"$name.cnf" <<EOF
[ ca ]
default_ca = this
[ this ]
dir = $name.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $name.pem
private_key = $name.key
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
EOF
}

# leaf CA NAME KEYTYPE SUBJECT SAN [DATES...]: NAME.pem / NAME.key signed by CA. LEAF_EXT, when
# set, is one more extension.
leaf() {
	local ca=$1 name=$2 kt=$3 subj=$4 san=$5
	shift 5
	if [ "$kt" = rsa ]; then rsagen "$name.key"; else ecgen "$name.key"; fi
	local ext=(-addext "subjectAltName=$san")
	[ -n "${LEAF_EXT:-}" ] && ext+=(-addext "$LEAF_EXT")
	ossl req -new -key "$name.key" -out "$name.csr" -subj "$subj" "${ext[@]}"
	local dates=(-days 825)
	[ $# -gt 0 ] && dates=("$@")
	openssl rand -hex 16 | sed 's/^[89a-f]/7/' >"$ca.db/serial" # 127 random bits, positive
	ossl ca -batch -config "$ca.cnf" -extensions leaf -notext "${dates[@]}" \
		-in "$name.csr" -out "$name.pem"
	rm -f "$name.csr"
}

ca ca "/O=weft tests/CN=weft test root"
ca unknown-ca "/O=elsewhere/CN=unknown root"

# Server certificates say where their CRL is (never fetched: the tests give weft and the clients
# the file), as a public server's would; testssl counts a certificate without one as a finding.
CDP=crlDistributionPoints=URI:http://198.18.1.2/weft-test-root.crl
LEAF_EXT=$CDP leaf ca server-ec ec "/O=weft/CN=api.weft.test" \
	"DNS:api.weft.test,DNS:*.apps.weft.test,URI:$TD/ns/default/sa/api"
LEAF_EXT=$CDP leaf ca server-rsa rsa "/O=weft/CN=rsa.weft.test" "DNS:rsa.weft.test,URI:$TD/ns/default/sa/rsa"
leaf ca other ec "/O=weft/CN=other.weft.test" "DNS:other.weft.test"
leaf ca wild ec "/O=weft/CN=wild" "DNS:*.wild.weft.test"
leaf ca client ec "/O=weft, Inc./OU=web/CN=frontend" "URI:$TD/ns/web/sa/frontend,DNS:frontend.web.svc"
leaf ca client2 ec "/O=weft/CN=reader" "URI:$TD/ns/db/sa/reader"
big=""
for i in $(seq 1 8); do big="${big}DNS:host-$i-with-a-name-long-enough-to-fill-a-ticket.long-domain-name.example.internal,"; done
leaf ca client-big ec "/O=weft/CN=big" "${big}URI:$TD/ns/web/sa/big"
leaf ca client-two-uris ec "/O=weft/CN=two" "URI:$TD/ns/a/sa/one,URI:$TD/ns/a/sa/two"
leaf ca expired ec "/O=weft/CN=expired" "URI:$TD/ns/web/sa/expired" \
	-startdate 20200101000000Z -enddate 20210101000000Z
leaf ca future ec "/O=weft/CN=future" "URI:$TD/ns/web/sa/future" \
	-startdate 20900101000000Z -enddate 20910101000000Z
leaf ca revoked ec "/O=weft/CN=revoked" "URI:$TD/ns/web/sa/revoked"
leaf ca server-expired ec "/O=weft/CN=old.weft.test" "DNS:old.weft.test" \
	-startdate 20200101000000Z -enddate 20260101000000Z
leaf ca server-future ec "/O=weft/CN=new.weft.test" "DNS:new.weft.test" \
	-startdate 20900101000000Z -enddate 20910101000000Z
LEAF_EXT=$CDP leaf ca server-ec2 ec "/O=weft/CN=api.weft.test" \
	"DNS:api.weft.test,DNS:*.apps.weft.test,URI:$TD/ns/default/sa/api"
leaf ca wrong-san ec "/O=weft/CN=intruder" "URI:$TD/ns/evil/sa/intruder"
leaf ca dbx ec "/O=weft/CN=dbx" "URI:$TD/ns/dbx/sa/reader"
leaf ca team-a ec "/O=weft/CN=one" "URI:$TD/ns/a/sa/one"
leaf ca admin ec "/O=weft/CN=admin" "URI:$TD/ns/ops/sa/admin"
leaf ca mesh ec "/O=weft/CN=weft" "URI:$TD/ns/mesh/sa/weft"
leaf ca backend ec "/O=weft/CN=api.backend.weft.test" \
	"DNS:api.backend.weft.test,URI:$TD/ns/backend/sa/api"
leaf unknown-ca unknown ec "/O=elsewhere/CN=stranger" "URI:spiffe://elsewhere.test/ns/x/sa/y"

ossl ca -batch -config ca.cnf -revoke revoked.pem
ossl ca -batch -config ca.cnf -gencrl -out crl.pem

# A PEM with a damaged body: same armour, base64 cut in the middle.
{
	echo "-----BEGIN CERTIFICATE-----"
	sed -n '2,4p' server-ec.pem
	echo "@@not base64@@"
	echo "-----END CERTIFICATE-----"
} >garbled.pem

for f in ca.pem crl.pem server-ec.pem server-rsa.pem server-ec2.pem client.pem expired.pem revoked.pem \
	wrong-san.pem admin.pem mesh.pem backend.pem garbled.pem; do
	[ -s "$f" ] || { echo "certs.sh: $f was not made" >&2; exit 1; }
done
