#!/usr/bin/env bash
# Merges a fuzz run's new inputs into the committed corpus and re-minimises it:
#   scripts/fuzz_merge.sh TARGET NEW_INPUTS_DIR
# libFuzzer's -merge=1 of (fuzz/corpus/TARGET + NEW_INPUTS_DIR) into an empty directory (the
# smallest set of inputs that keeps every feature), which then replaces fuzz/corpus/TARGET.
# Hand-written seeds and regression inputs (any file whose name is not a 40-hex SHA-1) are
# kept as they are, and a hash-named copy of one is dropped. Uses the sanitizer build of
# scripts/fuzz.sh (build it first: cd fuzz && cargo +nightly fuzz build -O).
set -euo pipefail
cd "$(dirname "$0")/.."
target="$1"
new_inputs="$2"
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/porchlight-fuzz-target}"
binary="$target_dir/x86_64-unknown-linux-gnu/release/$target"
corpus="fuzz/corpus/$target"
merged=$(mktemp -d)
trap 'rm -rf "$merged"' EXIT

before=$(find "$corpus" -type f | wc -l)
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}" \
  nice -n 19 "$binary" -merge=1 -timeout=10 -rss_limit_mb=2048 \
  "$merged" "$corpus" "$new_inputs" 2>&1 | grep -E "^MERGE-OUTER: [0-9]+ new files" || true
for f in "$corpus"/*; do
  name=$(basename "$f")
  if [[ ! "$name" =~ ^[0-9a-f]{40}$ ]]; then
    rm -f "$merged/$(sha1sum "$f" | cut -c1-40)"
    cp "$f" "$merged/$name"
  fi
done
find "$corpus" -type f -delete
cp "$merged"/* "$corpus"/
after=$(find "$corpus" -type f | wc -l)
echo "$target: $before -> $after files, $(cat "$corpus"/* | wc -c) bytes"
