#!/usr/bin/env bash
# Proves that the renkei.v1 contract compiles for another implementation:
# generates Python messages and gRPC stubs with grpc_tools.protoc (grpcio-tools,
# which bundles its own protoc, newer than Debian's), imports them, checks the
# service method paths, and encodes the frozen request fixture to compare it
# with the bytes the Swift tests hold.
#
#   Ops/check-protos-python.sh            uses $PYTHON, else the interop venv
#                                         (.build/interop-venv), else python3
#
# Skips (exit 0, with a message) when grpc_tools is not installed; it is not
# installed by Ops/deps.sh. Ops/interop-python.sh makes the venv with the
# pinned grpcio-tools; run it once, then this script uses it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n ${PYTHON:-} ]]; then
  PY=$PYTHON
elif [[ -x .build/interop-venv/bin/python ]]; then
  PY=.build/interop-venv/bin/python
else
  PY=python3
fi

if ! "$PY" -c 'import grpc_tools.protoc, grpc' >/dev/null 2>&1; then
  echo "SKIP: $PY has no grpc_tools (pip install grpcio-tools); the Python check did not run"
  exit 0
fi

PROTO_ROOT=Sources/RenkeiWire/Protos
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mapfile -t PROTOS < <(cd "$PROTO_ROOT" && find renkei -name '*.proto' | LC_ALL=C sort)

echo "==> grpc_tools.protoc ($("$PY" -c 'import grpc; print("grpcio", grpc.__version__)')) on ${PROTOS[*]}"
"$PY" -m grpc_tools.protoc -I "$PROTO_ROOT" --python_out="$out" --grpc_python_out="$out" "${PROTOS[@]}"
(cd "$out" && find . -name '*.py' | LC_ALL=C sort | sed 's/^/    /')

fixture=$(sed -n '/transferInquiryRequestHex = \[/,/\]\.joined()/p' Tests/RenkeiWireTests/Fixtures.swift | grep -o '"[0-9a-f]*"' | tr -d '"\n')

echo "==> importing and checking the generated modules"
PYTHONPATH="$out" FIXTURE="$fixture" "$PY" - <<'PY'
import os
from renkei.v1 import inquiry_pb2, inquiry_pb2_grpc, health_pb2, health_pb2_grpc, records_pb2

svc = inquiry_pb2.DESCRIPTOR.services_by_name["TransferInquiry"]
methods = sorted(f"/{svc.full_name}/{m.name}" for m in svc.methods)
assert methods == ["/renkei.v1.TransferInquiry/Inquire", "/renkei.v1.TransferInquiry/InquireBulk"], methods
bulk = svc.methods_by_name["InquireBulk"]
assert bulk.client_streaming and bulk.server_streaming
health = health_pb2.DESCRIPTOR.services_by_name["Health"]
assert [m.name for m in health.methods] == ["Check"]
assert hasattr(inquiry_pb2_grpc, "TransferInquiryStub") and hasattr(inquiry_pb2_grpc, "TransferInquiryServicer")

r = inquiry_pb2.TransferInquiryRequest(
    request_id="3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b", requester_code="322032", target_code="322016",
    individual_number="123456789018", purpose=inquiry_pb2.PURPOSE_TRANSFER_IN,
    consent_reference="DOUI-2024-000123", sent_at_unix_millis=1717200000123)
assert r.SerializeToString().hex() == os.environ["FIXTURE"], "Python encodes the request differently from the fixture"

# The padding bucket rule, written from the .proto comment alone.
def varint_len(v):
    n = 1
    while v >= 0x80:
        v >>= 7; n += 1
    return n

def pad(msg):
    msg.padding = b""
    n = msg.ByteSize()
    for bucket in (4096 << k for k in range(11)):
        r = bucket - n - 1
        for k in range(1, 5):
            p = r - k
            if p >= 1 and varint_len(p) == k:
                msg.padding = bytes(p)
                return bucket
    raise ValueError("too large")

assert inquiry_pb2.TransferInquiryResponse.DESCRIPTOR.fields_by_name["padding"].number == 15
no_match = inquiry_pb2.TransferInquiryResponse(request_id=r.request_id, outcome=inquiry_pb2.OUTCOME_NO_MATCH)
assert no_match.ByteSize() == 40, no_match.ByteSize()
assert pad(no_match) == 4096 and len(no_match.SerializeToString()) == 4096
# Unpadded sizes across the first bucket's edge (and its no-solution point).
for length in range(3800, 4100):
    dose = records_pb2.VaccinationDose(fiscal_year=2021, notes="x" * length)
    match = inquiry_pb2.TransferInquiryResponse(request_id=r.request_id, outcome=inquiry_pb2.OUTCOME_MATCH,
                                                match=records_pb2.VaccinationFile(doses=[dose]))
    bucket = pad(match)
    assert len(match.SerializeToString()) == bucket, length
print("    services, streaming flags, stubs, the request fixture and the padding rule agree")
PY
echo "==> OK: the contract compiles and encodes identically in Python"
