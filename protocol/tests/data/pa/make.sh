#!/usr/bin/env bash
# Makes the Passive Authentication test artefacts with OpenSSL (an implementation
# independent of ours): two test PKIs, data groups, and EF.SODs signed by OpenSSL's CMS.
# Everything here is synthetic and marked TEST. Re-run to regenerate (outputs change:
# new keys, new dates); the tests read the files, they never run this script.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf ./*.pem ./*.key ./*.der ./*.bin ./*.srl ./*.csr ./*.cnf ./*.hex masterlist

subj() { echo "/C=UT/O=Sesame TEST/OU=Not a real authority/CN=$1"; }
ext_ca=$(mktemp); ext_ds=$(mktemp)
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' > "$ext_ca"
printf 'keyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n' > "$ext_ds"

# PKI 1: brainpoolP256r1 CSCA; its document signer's key is written with EXPLICIT curve
# parameters (as many real document signers are).
openssl ecparam -name brainpoolP256r1 -genkey -noout -out csca-ec.key
openssl req -new -x509 -key csca-ec.key -subj "$(subj 'Sesame TEST CSCA EC')" -days 3650 -sha256 \
    -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat "$ext_ca") -out csca-ec.pem
openssl ecparam -name brainpoolP256r1 -genkey -noout -param_enc explicit -out ds-ec.key
openssl req -new -key ds-ec.key -subj "$(subj 'Sesame TEST DS EC')" -out ds-ec.csr
openssl x509 -req -in ds-ec.csr -CA csca-ec.pem -CAkey csca-ec.key -CAcreateserial -days 1825 -sha256 \
    -extfile "$ext_ds" -out ds-ec.pem

# PKI 2: RSA CSCA (PKCS#1 v1.5 certificates), RSA document signer whose SOD uses RSASSA-PSS.
openssl req -new -x509 -newkey rsa:2048 -nodes -keyout csca-rsa.key -subj "$(subj 'Sesame TEST CSCA RSA')" \
    -days 3650 -sha256 -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat "$ext_ca") \
    -out csca-rsa.pem
openssl req -new -newkey rsa:2048 -nodes -keyout ds-rsa.key -subj "$(subj 'Sesame TEST DS RSA')" -out ds-rsa.csr
openssl x509 -req -in ds-rsa.csr -CA csca-rsa.pem -CAkey csca-rsa.key -CAcreateserial -days 1825 -sha256 \
    -extfile "$ext_ds" -out ds-rsa.pem

# A CSCA nobody trusts, and a document signer under it.
openssl ecparam -name prime256v1 -genkey -noout -out csca-rogue.key
openssl req -new -x509 -key csca-rogue.key -subj "$(subj 'Sesame TEST CSCA EC')" -days 3650 -sha256 \
    -extensions v3 -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat "$ext_ca") -out csca-rogue.pem
openssl ecparam -name prime256v1 -genkey -noout -out ds-rogue.key
openssl req -new -key ds-rogue.key -subj "$(subj 'Sesame TEST DS EC')" -out ds-rogue.csr
openssl x509 -req -in ds-rogue.csr -CA csca-rogue.pem -CAkey csca-rogue.key -CAcreateserial -days 1825 -sha256 \
    -extfile "$ext_ds" -out ds-rogue.pem

for f in csca-ec csca-rsa csca-rogue ds-ec ds-rsa ds-rogue; do openssl x509 -in "$f.pem" -outform DER -out "$f.der"; done

# Data groups: DG1 with a TD1 MRZ (90 characters), and an opaque DG11.
mrz='I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<'
printf '\x61\x5d\x5f\x1f\x5a%s' "$mrz" > dg1.bin
printf '\x6b\x11\x5f\x0e\x0e%s' 'ERIKSSON<<ANNA' > dg11.bin

# The chip's Chip Authentication key (brainpoolP256r1) and DG14 announcing it
# (ChipAuthenticationInfo id-CA-ECDH-AES-CBC-CMAC-256 v1 keyId 1 and its
# ChipAuthenticationPublicKeyInfo). The private scalar is kept (ca-private.hex) for the
# test card; it is a test key of a synthetic chip.
openssl ecparam -name brainpoolP256r1 -genkey -noout -out ca.key
priv=$(openssl ec -in ca.key -text -noout 2>/dev/null | sed -n '/priv:/,/pub:/p' | grep -v 'priv:\|pub:' | tr -d ' :\n')
pub=$(openssl ec -in ca.key -text -noout 2>/dev/null | sed -n '/pub:/,/ASN1 OID/p' | grep -v 'pub:\|ASN1 OID' | tr -d ' :\n')
printf '%064s' "$priv" | tr ' ' 0 > ca-private.hex
cat > dg14.cnf <<CNF
asn1=SET:infos
[infos]
ca=SEQUENCE:cainfo
pk=SEQUENCE:pkinfo
[cainfo]
protocol=OID:0.4.0.127.0.7.2.2.3.2.4
version=INTEGER:1
keyId=INTEGER:1
[pkinfo]
protocol=OID:0.4.0.127.0.7.2.2.1.2
key=SEQUENCE:spki
keyId=INTEGER:1
[spki]
algorithm=SEQUENCE:ecalg
point=FORMAT:HEX,BITSTRING:$pub
[ecalg]
algorithm=OID:1.2.840.10045.2.1
curve=OID:1.3.36.3.3.2.8.1.1.7
CNF
openssl asn1parse -genconf dg14.cnf -noout -out dg14-infos.der
python3 - <<'PY'
body = open('dg14-infos.der', 'rb').read()
def length(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b
open('dg14.bin', 'wb').write(b'\x6e' + length(len(body)) + body)
PY
rm -f dg14-infos.der dg14.cnf ca.key

# EF.CardAccess of a CNIe-like card: PACE ECDH GM and IM, AES-256, brainpoolP256r1.
cat > cardaccess.cnf <<CNF
asn1=SET:infos
[infos]
gm=SEQUENCE:gm
im=SEQUENCE:im
[gm]
protocol=OID:0.4.0.127.0.7.2.2.4.2.4
version=INTEGER:2
parameterId=INTEGER:13
[im]
protocol=OID:0.4.0.127.0.7.2.2.4.4.4
version=INTEGER:2
parameterId=INTEGER:13
CNF
openssl asn1parse -genconf cardaccess.cnf -noout -out cardaccess.bin
rm -f cardaccess.cnf

# The LDS security object (ICAO 9303-10 §4.6.2.2): SHA-256 hashes of DG1, DG11, DG14.
h1=$(openssl dgst -sha256 -r dg1.bin | cut -d' ' -f1)
h11=$(openssl dgst -sha256 -r dg11.bin | cut -d' ' -f1)
h14=$(openssl dgst -sha256 -r dg14.bin | cut -d' ' -f1)
cat > lds.cnf <<CNF
asn1=SEQUENCE:lds
[lds]
version=INTEGER:0
hashAlgorithm=SEQUENCE:sha256
hashes=SEQUENCE:hashes
[sha256]
algorithm=OID:sha256
[hashes]
dg1=SEQUENCE:dg1
dg11=SEQUENCE:dg11
dg14=SEQUENCE:dg14
[dg1]
number=INTEGER:1
hash=FORMAT:HEX,OCT:$h1
[dg11]
number=INTEGER:11
hash=FORMAT:HEX,OCT:$h11
[dg14]
number=INTEGER:14
hash=FORMAT:HEX,OCT:$h14
CNF
openssl asn1parse -genconf lds.cnf -noout -out lds.bin

# EF.SOD = tag 77 around a CMS SignedData (eContent type id-icao-mrtd-security-
# ldsSecurityObject 2.23.136.1.1.1) with signed attributes, signed by a document signer.
sign() { # name signer-cert signer-key extra-options...
    local name=$1 cert=$2 key=$3; shift 3
    openssl cms -sign -binary -nodetach -nosmimecap -in lds.bin -econtent_type 2.23.136.1.1.1 \
        -signer "$cert" -inkey "$key" -md sha256 -outform DER "$@" -out "$name.cms"
    python3 - "$name.cms" "$name.bin" <<'PY'
import sys
body = open(sys.argv[1], 'rb').read()
def length(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b
open(sys.argv[2], 'wb').write(b'\x77' + length(len(body)) + body)
PY
    rm "$name.cms"
}
sign sod-ec ds-ec.pem ds-ec.key
sign sod-rsa-pss ds-rsa.pem ds-rsa.key -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:32
sign sod-rogue ds-rogue.pem ds-rogue.key
# Streaming output: BER with indefinite lengths, as some issuers' SODs are.
openssl cms -sign -binary -nodetach -nosmimecap -stream -in lds.bin -econtent_type 2.23.136.1.1.1 \
    -signer ds-ec.pem -inkey ds-ec.key -md sha256 -outform DER -out sod-ec-ber.cms
python3 - <<'PY'
body = open('sod-ec-ber.cms', 'rb').read()
open('sod-ec-ber.bin', 'wb').write(b'\x77\x80' + body + b'\x00\x00')
PY
rm -f sod-ec-ber.cms ./*.csr ./*.srl lds.cnf "$ext_ca" "$ext_ds"
# The private keys are test keys; keep only what the tests read.
rm -f ./*.key
ls -l

# An ICAO CSCA master list (ICAO 9303-12 §9) holding the RSA and EC CSCAs, in that
# order (not DER-sorted, as published lists sometimes are), signed by a throwaway master
# list signer.
mkdir -p masterlist
python3 - <<'PY'
def length(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b
certs = open('csca-rsa.der', 'rb').read() + open('csca-ec.der', 'rb').read()
cert_set = b'\x31' + length(len(certs)) + certs
body = b'\x02\x01\x00' + cert_set
open('masterlist/content.der', 'wb').write(b'\x30' + length(len(body)) + body)
PY
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout masterlist/signer.key \
    -subj "$(subj 'Sesame TEST Master List Signer')" -days 3650 -out masterlist/signer.pem 2>/dev/null
openssl cms -sign -binary -nodetach -nosmimecap -in masterlist/content.der -econtent_type 2.23.136.1.1.2 \
    -signer masterlist/signer.pem -inkey masterlist/signer.key -md sha256 -outform DER -out masterlist/test.ml
rm -f masterlist/content.der masterlist/signer.key masterlist/signer.pem

# EF.CardSecurity (TR-03110-3 A.1.2.2): the SecurityInfos of EF.CardAccess and DG14 as a
# CMS SignedData (content type id-SecurityObject), signed by a throwaway signer: the
# tests read its content, they do not verify its signature.
python3 - <<'PY'
def length(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b
card_access = open('cardaccess.bin', 'rb').read()
dg14 = open('dg14.bin', 'rb').read()
def content(tlv):  # skip one TLV header
    i = 1
    n = tlv[i]
    if n < 0x80:
        return tlv[i + 1:]
    return tlv[i + 1 + (n & 0x7f):]
infos = content(card_access) + content(content(dg14))
open('cardsecurity-content.der', 'wb').write(b'\x31' + length(len(infos)) + infos)
PY
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout cs.key \
    -subj "$(subj 'Sesame TEST Card Security Signer')" -days 3650 -out cs.pem 2>/dev/null
openssl cms -sign -binary -nodetach -nosmimecap -in cardsecurity-content.der -econtent_type 0.4.0.127.0.7.3.2.1 \
    -signer cs.pem -inkey cs.key -md sha256 -outform DER -out cardsecurity.bin
rm -f cardsecurity-content.der cs.key cs.pem
