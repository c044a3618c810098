#!/usr/bin/env bash
# `npm run fuzz [-- SECONDS]`: runs every fuzz target (cargo-fuzz, libFuzzer,
# nightly Rust) for SECONDS each (default 60) and prints how many inputs each
# ran. A crash stops the run with its reproducer under fuzz/artifacts/: turn it
# into a regression test in the module it hit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${1:-60}"
targets=(callback_url token_response id_token jwks discovery stored_state json)

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "[fuzz] installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz"
  cargo install cargo-fuzz
fi

# Optimized, but with debug assertions and overflow checks (-a): arithmetic
# on input that overflows or underflows must crash here, not wrap silently as
# it would in a release build. Build all targets once (a fresh corpus copy
# keeps the committed seeds small).
cargo +nightly fuzz build -O -a >/dev/null
summary=()
for t in "${targets[@]}"; do
  work="target/fuzz-corpus/$t"
  mkdir -p "$work"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  log="target/fuzz-$t.log"
  echo "[fuzz] $t for ${seconds}s"
  if ! cargo +nightly fuzz run -O -a "$t" "$work" -- -max_total_time="$seconds" -print_final_stats=1 -max_len=8192 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "[fuzz] $t FAILED: see $log and fuzz/artifacts/$t/"
    exit 1
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  summary+=("$t: ${runs:-?} inputs in ${seconds}s (${speed:-?}/s), no crash")
done
echo
printf '[fuzz] %s\n' "${summary[@]}"
