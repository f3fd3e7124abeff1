#!/usr/bin/env bash
# An Active Authentication test vector made with OpenSSL: an RSA-1024 key (its public
# half as DG15 would hold it), a fixed challenge, and the chip's signature: raw RSA
# (no padding) over the ISO/IEC 9796-2 scheme 1 representative
# 6A || M1 || SHA-1(M1 || challenge) || BC, with a random recoverable part M1.
set -euo pipefail
cd "$(dirname "$0")"
openssl genrsa -out aa.key 1024 2>/dev/null
openssl rsa -in aa.key -pubout -outform DER -out aa-rsa-spki.der 2>/dev/null
printf '\x01\x02\x03\x04\x05\x06\x07\x08' > aa-challenge.bin
python3 - <<'PY'
import hashlib, os
k = 128
m1 = os.urandom(k - 2 - 20)
challenge = open('aa-challenge.bin', 'rb').read()
h = hashlib.sha1(m1 + challenge).digest()
open('representative.bin', 'wb').write(b'\x6a' + m1 + h + b'\xbc')
PY
# The raw private-key operation: "decrypt" without padding is exactly s = m^d mod n.
openssl pkeyutl -decrypt -inkey aa.key -pkeyopt rsa_padding_mode:none -in representative.bin -out aa-rsa-signature.bin
rm -f aa.key representative.bin
