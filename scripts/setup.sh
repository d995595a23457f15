#!/usr/bin/env bash
# Prepares a fresh clone for development, tests and the demo. Idempotent: each step is skipped
# when its result is already in place, so it is cheap to run before every command.
#
#   scripts/setup.sh              npm dependencies, Rust→wasm32 toolchain, WASM core, TypeScript
#                                 build, Kafka jars
#   scripts/setup.sh --no-wasm    the same but leaves wasm/tributary_core.wasm as committed
#                                 (the test run checks it against its source instead)
#   --quiet                       print only what is being installed or built
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_wasm=true
quiet=false
for arg in "$@"; do
  case "$arg" in
    --no-wasm) build_wasm=false ;;
    --quiet) quiet=true ;;
    *) echo "usage: scripts/setup.sh [--no-wasm] [--quiet]" >&2; exit 2 ;;
  esac
done

say() { $quiet || printf '[setup] %s\n' "$*" >&2; }
act() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else act "need root to run: $*"; return 1
  fi
}

apt_updated=false
apt_install() {
  $apt_updated || { as_root apt-get update -qq >/dev/null; apt_updated=true; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# npm dependencies: installed when missing or older than package-lock.json.
ensure_npm_dependencies() {
  if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]; then
    say "npm dependencies are installed"
    return
  fi
  # Not `npm ci`: npm 11 leaves other platforms' optional packages (deno, workerd and bun ship one
  # per OS) out of the lockfile and then ci refuses it as out of sync. install keeps the lockfile.
  act "installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error
}

# The reference toolchain for the WASM core is Debian's rustc-web (see scripts/build-wasm.sh);
# binaryen provides wasm-opt. Installed only when missing.
ensure_wasm_toolchain() {
  local missing=()
  [[ -x /usr/bin/rustc && -x /usr/bin/cargo && -d /usr/lib/rustlib/src/rust/library ]] ||
    missing+=(rustc-web cargo-web rust-web-src lld-22)
  command -v wasm-opt >/dev/null || missing+=(binaryen)
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "Rust→wasm32 toolchain is installed"
    return
  fi
  act "installing the Rust→wasm32 toolchain: ${missing[*]}"
  apt_install "${missing[@]}"
}

ensure_wasm_core() {
  if $build_wasm; then
    act "building the WASM core"
    bash scripts/build-wasm.sh
  else
    say "leaving wasm/tributary_core.wasm as committed"
  fi
}

# dist/ is what the package exports; rebuilt when any source file is newer than it.
ensure_typescript_build() {
  if [[ -f dist/index.js && -z "$(find src tsconfig.json tsconfig.build.json -newer dist/index.js -print -quit)" ]]; then
    say "dist/ is up to date"
    return
  fi
  act "compiling TypeScript into dist/"
  rm -rf dist
  npx tsc -p tsconfig.build.json
}

ensure_kafka_jars() {
  bash scripts/kafka.sh classpath >/dev/null
  say "Kafka jars are in .kafka/lib"
}

ensure_npm_dependencies
ensure_wasm_toolchain
ensure_wasm_core
ensure_typescript_build
ensure_kafka_jars
say "ready"
