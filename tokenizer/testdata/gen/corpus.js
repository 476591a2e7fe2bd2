// corpus.js builds the deterministic test corpus shared by gen.js and bench.js.
// Every string comes from a seeded PRNG, so the corpus is the same on every run.
'use strict';

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const english = [
  'The quick brown fox jumps over the lazy dog.',
  "I'm sure they'll say it's fine, but we've seen what you'd do.",
  "DON'T SHOUT! I'LL HEAR YOU'RE THERE, WE'VE SAID IT'S OK, HE'D KNOW.",
  'Hello, world! How are you doing today?',
  'Fine-tuning large language models requires careful learning-rate schedules.',
  'In 1969, Apollo 11 landed on the Moon; 600 million people watched.',
  'E-mail me at someone@example.com or visit https://example.org/path?q=1&r=2#frag.',
  'Mr. Smith paid $1,234.56 for 3.5kg of apples (about 7.7 lbs).',
  '"Quoted text," she said, \'and more quotes\' — with an em dash… and ellipsis.',
  'Tabs\tand\tnewlines\nare\r\nwhitespace too.',
  'camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case',
  'A sentence ending with spaces   ',
  '   leading spaces and trailing\n\n\n',
];

const code = [
  'func main() {\n\tfmt.Println("hello, 世界")\n}\n',
  'def f(x: int) -> int:\n    """Docstring."""\n    return x ** 2 + 3 * x - 1\n\n\nprint(f(10))\n',
  'for (let i = 0; i < 10; i++) { console.log(`i=${i}`); }',
  '{"model_id": "abc-123", "tokens": [1, 2, 3], "nested": {"ok": true, "v": null}}',
  '#include <stdio.h>\nint main(void){printf("%d\\n", 42);return 0;}',
  'SELECT id, name FROM users WHERE age >= 18 AND name LIKE \'%son\' ORDER BY id DESC;',
  '<html>\n  <body class="main">\n    <p>Hi &amp; bye</p>\n  </body>\n</html>',
  'x := map[string][]int{"a": {1, 2}, "b": nil}\nif err != nil {\n\t\treturn fmt.Errorf("wrap: %w", err)\n}',
  '    indented    by    four    \n        and eight\n\t\ttabs',
  'a+=b;c-=d;e*=f;g/=h;i%=j;k<<=2;l>>=3;m&&n||!o',
  '$ ls -la | grep ".go$" && echo done >> /tmp/log.txt 2>&1',
];

const cjk = [
  '我们正在训练一个大型语言模型。',
  '今天天气很好，我们去公园散步吧！',
  '机器学习是人工智能的一个分支，它使计算机能够从数据中学习。',
  '日本語のテキストも正しく処理する必要があります。',
  'カタカナとひらがな、そして漢字が混ざった文章です。',
  '東京は日本の首都で、人口は約1400万人です。',
  '한국어 문장도 토큰화해야 합니다.',
  'Привет, мир! Как дела?',
  'مرحبا بالعالم، هذا نص عربي.',
  'नमस्ते दुनिया, यह हिंदी पाठ है।',
  'Γειά σου Κόσμε· αυτό είναι ελληνικά.',
  'שלום עולם',
  'สวัสดีชาวโลก นี่คือภาษาไทย',
  'Tiếng Việt có dấu: Đây là một câu.',
  '全角スペース　と　全角数字１２３',
];

const emoji = [
  '😀😃😄😁', '👍🏽👍🏿', '👨‍👩‍👧‍👦 family', '🇯🇵🇺🇸🇫🇷', '❤️‍🔥 fire heart', '🏳️‍🌈',
  'I love 🍕 and 🍣!', '✅ done ❌ failed ⚠️ warn', '🤖🧠💡', '🫠🫶🏻 newer emoji', '©®™ ℃ №',
];

const numbers = [
  '0', '7', '42', '123', '1234', '12345', '123456789012345678901234567890',
  '3.14159265358979', '-273.15', '1e-9', '6.022e23', '1,000,000', '2026-12-02T17:34:09Z',
  'v1.2.3-rc.4+build.5', '0x1F 0b1010 0o777', '١٢٣٤٥ Arabic-Indic', '１２３４ fullwidth',
  '²³¹ superscripts', '½ ¾ ⅓ fractions', 'Ⅻ Ⅷ roman numerals', '٣.١٤', '१२३ Devanagari digits',
];

const specials = {
  llama3: ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
    '<|reserved_special_token_0|>', '<|reserved_special_token_200|>', '<|finetune_right_pad_id|>', '<|python_tag|>', '<|eom_id|>'],
  qwen3: ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '</tool_call>',
    '<|fim_prefix|>', '<|vision_start|>', '<|image_pad|>', '<tool_response>'],
};

const whitespaceChars = [' ', '  ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u3000', '\u2003', '\u000b', '\u000c', '\u0085', '\u2028'];
const atoms = ["'s", "'T", "'re", "'VE", "'m", "'Ll", "'d", "'x", "'", 'a', 'Z', 'é', 'ß', '字', 'か', '1', '22', '333',
  '4444', '!', '?!', '...', '(', ')', '-', '_', '"', '@', '#', '$', '€', '😀', '\u0301', 'e\u0301', 'ſ', 'İ', 'ǅ', 'ﬁ',
  'word', 'Word', 'WORD', ' word', '\u200d', '\ufeff', '\u00ad', '·', '٣', '①', 'Ⅻ'];

function randomUnicode(r) {
  const ranges = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f],
    [0x1100, 0x11ff], [0x2000, 0x206f], [0x2190, 0x22ff], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3],
    [0xfb00, 0xfb4f], [0xfe00, 0xfe6f], [0xff00, 0xffef], [0x1f300, 0x1faff], [0x10000, 0x1007f], [0x1d400, 0x1d7ff],
    [0x20000, 0x2a6df], [0xe000, 0xe0ff], [0x0, 0x1f], [0x300, 0x36f]];
  const [lo, hi] = ranges[Math.floor(r() * ranges.length)];
  return String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
}

function pick(r, a) { return a[Math.floor(r() * a.length)]; }

// buildCorpus returns [{text} | {bytes}] for one vocabulary family.
function buildCorpus(family) {
  const r = rng(family === 'llama3' ? 1 : 2);
  const out = [];
  const seen = new Set();
  const add = (s) => { if (!seen.has(s)) { seen.add(s); out.push({ text: s }); } };
  const pools = [english, code, cjk, emoji, numbers];
  for (const p of pools) for (const s of p) add(s);
  for (const s of specials[family]) {
    add(s); add('x' + s + 'y'); add(' ' + s + ' '); add(s + s); add(s.slice(0, -1)); add('\n' + s + '\n\n');
  }
  add(specials.llama3.join(' ')); add(specials.qwen3.join(''));
  // Whitespace runs in every position.
  for (let i = 0; i < 300; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * 6);
    for (let j = 0; j < n; j++) {
      if (r() < 0.5) s += pick(r, whitespaceChars).repeat(1 + Math.floor(r() * 4));
      else s += pick(r, atoms);
    }
    add(s);
  }
  // Mixed atoms: contractions, digits, punctuation, combining marks.
  for (let i = 0; i < 500; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * 12);
    for (let j = 0; j < n; j++) s += pick(r, atoms);
    add(s);
  }
  // Random code points from many scripts.
  for (let i = 0; i < 400; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * 20);
    for (let j = 0; j < n; j++) s += randomUnicode(r);
    add(s);
  }
  // Sentences stitched from the pools, with special tokens sprinkled in.
  for (let i = 0; i < 500; i++) {
    let s = '';
    const n = 1 + Math.floor(r() * 5);
    for (let j = 0; j < n; j++) {
      const x = r();
      if (x < 0.1) s += pick(r, specials[family]);
      else if (x < 0.2) s += pick(r, whitespaceChars);
      else s += pick(r, pick(r, pools));
    }
    add(s);
  }
  // Digit runs of every length.
  for (let i = 1; i <= 40; i++) add('9876543210'.repeat(5).slice(0, i));
  for (let i = 0; i < 100; i++) add(String(Math.floor(r() * 1e12)) + pick(r, [' ', '.', ',', 'x', '']) + String(Math.floor(r() * 1e6)));
  // Long inputs.
  for (let i = 0; i < 12; i++) {
    let s = '';
    while (s.length < 4000 + i * 2500) s += pick(r, pick(r, pools)) + pick(r, [' ', '\n', '', '  ', '\n\n']);
    add(s);
  }
  add('a'.repeat(5000)); add(' '.repeat(3000)); add('!'.repeat(2000)); add('字'.repeat(2000)); add('\n'.repeat(500) + 'x');
  // Invalid UTF-8: raw bytes, tokenized by HF after lossy (WHATWG) decoding.
  const bytePieces = [[0xff], [0xfe], [0xc3], [0xc3, 0x28], [0xe2, 0x82], [0xe2, 0x82, 0x28], [0xf0, 0x9f, 0x98],
    [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xe0, 0x80, 0xaf], [0xf0, 0x80, 0x80], [0xf0, 0x9f], [0xe0, 0xa0]];
  let inv = 0;
  while (inv < 150) {
    const parts = [];
    const n = 1 + Math.floor(r() * 5);
    for (let j = 0; j < n; j++) {
      if (r() < 0.5) parts.push(...pick(r, bytePieces));
      else parts.push(...Buffer.from(pick(r, atoms.concat(['hello', ' ', '字', '😀']))));
    }
    const b = Buffer.from(parts);
    const key = 'b:' + b.toString('hex');
    if (!seen.has(key)) { seen.add(key); out.push({ bytes: b }); inv++; }
  }
  // Long runs of combining marks: Hugging Face's NFC has no stream-safe limit (Go's x/text inserts
  // U+034F after 30 non-starters; the Go tokenizer must not).
  for (const n of [15, 16, 29, 30, 31, 32, 45, 70]) {
    add('\u0301'.repeat(n)); add('e' + '\u0301'.repeat(n) + '-x'); add('é' + '\u0323\u0301'.repeat(n));
    add('한' + '\u0300'.repeat(n) + '\u11a8'); add('a' + '\u0316\u0301\u0300\u0323'.repeat(n / 2) + 'b');
  }
  // Random strings from a small alphabet of awkward pieces, some repeated many times (long pieces take
  // the other merge path), until the corpus is large enough.
  const pieces = [' ', '  ', '\n', '\t', '\r\n', '\u00a0', 'a', 'b', 'e', 't', 'h', 'Th', 'the', ' the', 'ing', "'s", "'LL", "'",
    '"', '.', ',', '!', '?', '-', '_', '(', ')', '{', '}', '0', '1', '12', '345', '6789', 'é', 'ü', 'ß', '字', '中文', '日本', 'か',
    'ア', '한', 'я', 'ж', 'ع', '😀', '👍🏽', '\u0301', '\u200d', 'x', 'Q', '\u3000', '::', '//', '==', '->'].concat(specials[family]);
  while (out.length < 4600) {
    let s = '';
    const n = 1 + Math.floor(r() * 30);
    for (let j = 0; j < n; j++) {
      if (r() < 0.15) s += randomUnicode(r);
      else s += pick(r, pieces).repeat(r() < 0.1 ? 1 + Math.floor(r() * 40) : 1);
    }
    add(s);
  }
  // Fill with random mixes until the corpus is large enough.
  while (out.length < 5200) {
    let s = '';
    const n = 1 + Math.floor(r() * 8);
    for (let j = 0; j < n; j++) {
      const x = r();
      if (x < 0.3) s += pick(r, atoms);
      else if (x < 0.5) s += randomUnicode(r);
      else if (x < 0.6) s += pick(r, whitespaceChars);
      else s += pick(r, pick(r, pools)).slice(0, 1 + Math.floor(r() * 30));
    }
    add(s);
  }
  return out;
}

// naturalText returns about 512 KB of ordinary text for the throughput
// benchmark: English, code, CJK and other scripts, emoji and numbers from the
// pools above, joined by spaces and newlines.
function naturalText() {
  const r = rng(3);
  const pools = [english, english, code, code, cjk, emoji, numbers];
  let s = '';
  while (s.length < 512 * 1024) s += pick(r, pick(r, pools)) + pick(r, [' ', ' ', '\n', '\n\n']);
  return s;
}

// naturalChunks cuts the natural text at the first "\n" after every 4 KiB.
function naturalChunks() {
  const text = require('zlib').gunzipSync(require('fs').readFileSync(require('path').join(__dirname, '..', 'golden', 'natural.txt.gz'))).toString('utf8');
  const out = [];
  let cur = '';
  for (const line of text.split('\n')) {
    cur += line + '\n';
    if (Buffer.byteLength(cur) >= 4096) { out.push(cur); cur = ''; }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

module.exports = { buildCorpus, naturalText, naturalChunks, rng };
