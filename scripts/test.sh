#!/usr/bin/env bash
# Every test: the host core (cargo test), the wasm glue in headless Chromium
# (wasm-bindgen-test), and the end-to-end flows (Playwright + Chromium against
# oidc-provider). Expects `node scripts/build.mjs` to have built pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

echo "== size budget of the built package (bench/size-budget.json)"
node --test tests/size.test.mjs

echo "== types: README code blocks and the API under tsc --strict"
node --test tests/types.test.mjs

echo "== host: cargo test"
cargo test --quiet

echo "== browser: wasm-bindgen tests in headless Chromium"
# webdriver.json (this folder) gives chromedriver the Chromium flags.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver \
WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test --target wasm32-unknown-unknown --lib

echo "== end to end: Playwright + Chromium against oidc-provider"
node --test --test-concurrency=1 tests/e2e/
