#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Regenerate the demo series in samples/demo/ from samples/demo/scenarios/*.toml with
# `flowmrd simulate` (deterministic: the same flowmrd gives byte-identical files).
#
# Usage: samples/demo/make_demo.sh [FLOWMRD]   (default: build/apps/flowmrd/flowmrd)
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
flowmrd=${1:-$here/../../build/apps/flowmrd/flowmrd}
[[ -x $flowmrd ]] || { echo "error: $flowmrd is not an executable (build flowmrd first)" >&2; exit 1; }
for s in "$here"/scenarios/*.toml; do
  name=$(basename "$s" .toml)
  "$flowmrd" simulate "$s" -o "$here/$name.fcs"
done
