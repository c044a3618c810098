#!/usr/bin/env bash
# Installs what a fresh machine lacks for building (and, with --browser,
# testing) oidc-pkce. Idempotent and quick when everything is there.
# Nothing is downloaded from outside the package registries: wasm-bindgen-cli
# comes from crates.io, wasm-opt from npm's binaryen, Chromium from apt.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

command -v cargo >/dev/null || { say "cargo is missing: install Rust with rustup first"; exit 1; }
command -v node >/dev/null || { say "node is missing: install Node.js 20+ first"; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The release build's smaller module needs the nightly the machine ships
# with its std sources (scripts/build.mjs pins the version). Best effort:
# where rust-src cannot be had, the release is built on stable, larger.
if rustc +nightly --version >/dev/null 2>&1; then
  sysroot=$(rustc +nightly --print sysroot)
  if [ ! -d "$sysroot/lib/rustlib/src/rust/library/std" ]; then
    say "adding rust-src to the nightly toolchain (for the release build)"
    timeout 300 rustup component add rust-src --toolchain nightly >/dev/null 2>&1 ||
      say "rust-src could not be added: the release will be built on stable"
  fi
fi

# wasm-bindgen-cli must be the exact version of the wasm-bindgen crate in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}); takes a few minutes once"
  # No --locked: one of its locked dependency versions is not on the registry here.
  cargo install wasm-bindgen-cli --version "$want"
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--browser" ]; then
  # The tests' browser, and Redis for oidc-pkce/server's shared store (the
  # tests start redis-server themselves on a free port).
  missing=()
  { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || missing+=(chromium chromium-driver)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian's ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
