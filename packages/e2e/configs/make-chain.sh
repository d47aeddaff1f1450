#!/usr/bin/env bash
# Makes a root CA, an intermediate CA and a leaf for localhost/127.0.0.1 signed by the
# intermediate, in the directory given (the tests use a fresh temp directory). Extensions come from
# pki-extensions.cnf beside this script. OPENSSL overrides the openssl binary.
set -euo pipefail
cd "$1"
openssl=${OPENSSL:-openssl}
ext="$(dirname "$0")/pki-extensions.cnf"
# #region chain
for name in root intermediate leaf; do
  $openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key"
done
$openssl req -x509 -new -key root.key -subj "/CN=wsgate e2e root CA" -days 2 \
  -config "$ext" -extensions ca -out root.pem

$openssl req -new -key intermediate.key -subj "/CN=wsgate e2e intermediate CA" -out intermediate.csr
$openssl x509 -req -in intermediate.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1 \
  -extfile "$ext" -extensions intermediate -out intermediate.pem

$openssl req -new -key leaf.key -subj "/CN=localhost" -out leaf.csr
$openssl x509 -req -in leaf.csr -CA intermediate.pem -CAkey intermediate.key -CAcreateserial -days 1 \
  -extfile "$ext" -extensions leaf -out leaf.pem

# What the server sends: the leaf, then the intermediate. Clients trust only root.pem.
cat leaf.pem intermediate.pem > fullchain.pem
# #endregion chain
