#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Rebuild the shipped normal-marrow reference panels/reference/default.json: simulate the normal
# and regenerating marrows of panels/reference/scenarios/*.toml (no leukemia; seeds < 10000, kept
# apart from the validation cohort) and fit the reference with `flowmrd reference build`.
# Deterministic: the same flowmrd gives a byte-identical default.json.
#
# Usage: panels/reference/make_reference.sh [FLOWMRD]   (default: build/apps/flowmrd/flowmrd)
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
flowmrd=${1:-$here/../../build/apps/flowmrd/flowmrd}
[[ -x $flowmrd ]] || { echo "error: $flowmrd is not an executable (build flowmrd first)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=()
for s in "$here"/scenarios/*.toml; do
  name=$(basename "$s" .toml)
  "$flowmrd" simulate "$s" -o "$work/$name.fcs" >/dev/null
  files+=("$work/$name.fcs")
done
"$flowmrd" reference build "${files[@]}" -o "$here/default.json" \
  --name default --version "1" \
  --description "Simulated normal and regenerating paediatric marrow (hematogones 1-15%, monocytes 5-12%) on the three shipped instrument profiles"
echo "wrote $here/default.json"
