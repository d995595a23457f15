#!/usr/bin/env bash
# Builds the Rust core (wasm/) into wasm/tributary_core.wasm, the file the package ships.
#
#   scripts/build-wasm.sh           build and install wasm/tributary_core.wasm
#   scripts/build-wasm.sh --check   build into a temporary file and fail when the committed
#                                   wasm/tributary_core.wasm differs from what the source builds
#
# The build is reproducible: the reference toolchain is Debian's rustc-web (pinned by the
# distribution) with std rebuilt for wasm32 and panics compiled to a bare trap, every absolute
# path remapped, LTO and one codegen unit, then binaryen's wasm-opt. The toolchain versions are
# recorded in wasm/TOOLCHAIN so a byte difference can be told apart from a toolchain difference.
set -euo pipefail
# A failed cargo build inside $(...) must stop the script (bash does not pass -e into command
# substitutions by default), or a stale target/ build would be installed.
shopt -s inherit_errexit

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crate="$root/wasm"
shipped="$crate/tributary_core.wasm"
target_dir="$crate/target"
check=false
[[ "${1:-}" == "--check" ]] && check=true

log() { printf '[build-wasm] %s\n' "$*" >&2; }

# Rust's wasm32 defaults (LLVM 19+) use these post-MVP features; wasm-opt must accept them.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types --enable-simd)

# The host restores the stack pointer after a trap so the instance stays usable (src/core/instance.ts).
LINK_FLAGS="-Clink-arg=--export=__stack_pointer"

remap_flags() {
  local registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  printf '%s ' "--remap-path-prefix=$registry=/crates" \
    "--remap-path-prefix=$crate=/tributary-core" \
    "--remap-path-prefix=/usr/lib/rustlib/src/rust=/rust"
}

# Debian's rustc-web can build std for wasm32 itself (RUSTC_BOOTSTRAP unlocks -Zbuild-std).
build_with_debian_toolchain() {
  PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="$(remap_flags) $LINK_FLAGS -Zunstable-options -Cpanic=immediate-abort" \
    cargo build --quiet --release --locked --manifest-path "$crate/Cargo.toml" \
    --target wasm32-unknown-unknown --target-dir "$target_dir" -Zbuild-std=std,panic_abort
  echo "rustc: $(/usr/bin/rustc --version)"
}

# A rustup toolchain with the wasm32 target also builds a working core, but not byte-identical
# to the committed one (different compiler and a prebuilt std).
build_with_rustup_target() {
  RUSTFLAGS="$(remap_flags) $LINK_FLAGS" cargo build --quiet --release --locked \
    --manifest-path "$crate/Cargo.toml" --target wasm32-unknown-unknown --target-dir "$target_dir"
  echo "rustc: $(rustc --version) (rustup; not the reference toolchain)"
}

has_debian_toolchain() {
  [[ -x /usr/bin/rustc && -x /usr/bin/cargo && -d /usr/lib/rustlib/src/rust/library ]]
}

has_rustup_target() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

if has_debian_toolchain; then
  toolchain="$(build_with_debian_toolchain)"
elif has_rustup_target; then
  toolchain="$(build_with_rustup_target)"
else
  log "no Rust toolchain that targets wasm32 was found; run scripts/setup.sh (it installs one)"
  exit 1
fi

raw="$target_dir/wasm32-unknown-unknown/release/tributary_core.wasm"
out="$(mktemp "${TMPDIR:-/tmp}/tributary_core.XXXXXX.wasm")"
trap 'rm -f "$out"' EXIT
if command -v wasm-opt >/dev/null; then
  wasm-opt -O3 "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers "$raw" -o "$out"
  toolchain+=$'\n'"wasm-opt: $(wasm-opt --version)"
else
  log "wasm-opt not found (Debian package binaryen): the output is larger and differs from the reference build"
  cp "$raw" "$out"
  toolchain+=$'\n'"wasm-opt: none"
fi

if $check; then
  if cmp -s "$out" "$shipped"; then
    log "wasm/tributary_core.wasm matches its source ($(wc -c <"$out") bytes)"
    exit 0
  fi
  log "wasm/tributary_core.wasm is NOT what the source builds: run 'npm run build:wasm' and commit the result"
  log "committed: $(sha256sum "$shipped" 2>/dev/null | cut -c1-16 || echo missing)  built: $(sha256sum "$out" | cut -c1-16)"
  log "toolchain used now:"; printf '  %s\n' "$toolchain" >&2
  log "toolchain recorded in wasm/TOOLCHAIN:"; sed 's/^/  /' "$crate/TOOLCHAIN" >&2 || true
  exit 1
fi

mv "$out" "$shipped"
chmod 644 "$shipped"
printf '%s\n' "$toolchain" >"$crate/TOOLCHAIN"
log "wrote wasm/tributary_core.wasm ($(wc -c <"$shipped") bytes, sha256 $(sha256sum "$shipped" | cut -c1-16))"
