#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 20), one job at a time, from
# the committed corpus (fuzz/corpus/<target>/). New inputs go to a scratch corpus, so the
# committed one changes only when you run `cargo +nightly fuzz cmin` and commit it yourself.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without either it
# prints a note and exits 0: the corpus replay in `cargo test` stays the guarantee.
# A crash fails the script; its input is in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
targets=(reply config csv_import twilio_form android_json scenario)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped (no nightly toolchain; the corpus replay in cargo test still runs)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: skipped (cargo-fuzz is not installed: cargo install cargo-fuzz; the corpus replay in cargo test still runs)"
  exit 0
fi

# A build directory kept between runs (the sanitizer build of every dependency is slow; later
# builds only redo what changed).
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/porchlight-fuzz-target}"
(cd fuzz && cargo +nightly fuzz build -O)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "== fuzz $t (${seconds}s)"
  # One process per target (no -jobs): the machine is shared. Output is long; keep a summary.
  if ! (cd fuzz && cargo +nightly fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1); then
    tail -40 "$scratch/$t.log"
    echo "fuzz: $t crashed; the input is in fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$scratch/$t.log" | tail -2 || true
done
echo "fuzz: every target ran ${seconds}s without a crash"
