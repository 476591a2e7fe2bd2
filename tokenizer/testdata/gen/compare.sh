#!/usr/bin/env bash
# compare.sh alternates the Go benchmark and bench.js (Hugging Face's Rust
# tokenizer via npm) ROUNDS times, so each Go figure has a Rust figure taken
# under the same machine load. Run from anywhere after `npm install` here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkg="$here/../.."
bin="$(mktemp -d)/tokenizer.test"
(cd "$pkg" && go test -c -o "$bin" .)
for r in $(seq 1 "${ROUNDS:-4}"); do
	echo "== round $r, $(uptime)"
	(cd "$pkg" && "$bin" -test.run '^$' -test.bench Encode -test.benchtime 2s | grep '^Benchmark')
	(cd "$here" && TOKENIZERS_PARALLELISM=false node bench.js)
done
rm -f "$bin"
