#!/usr/bin/env bash
# npm run demo: set up what is missing, start the local broker, run examples/partitions-demo.ts.
# The broker keeps running afterwards; stop it with `npm run kafka -- stop`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --quiet
bash scripts/kafka.sh start
# Node 24 runs TypeScript directly (type stripping); it is pinned in devDependencies as "node24".
# kafkajs (the independent peer the demo produces with) trips a harmless Node 24 timer warning.
exec node_modules/node24/bin/node --disable-warning=TimeoutNegativeWarning examples/partitions-demo.ts
