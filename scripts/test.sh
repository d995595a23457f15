#!/usr/bin/env bash
# npm test: everything the project checks, on a fresh clone or a warm checkout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh --no-wasm

step "the committed WASM core is what its source builds"
bash scripts/build-wasm.sh --check

step "Rust unit tests (host)"
cargo test --quiet --release --locked --manifest-path wasm/Cargo.toml

step "TypeScript type check"
npx tsc -p tsconfig.json --noEmit

step "vitest: unit, runtime matrix and broker integration tests"
npx vitest run "$@"
