// chats.js lists the conversations rendered for ../golden/chat.json.
'use strict';

function conversations(family) {
  const base = [
    [{ role: 'user', content: 'Hello!' }],
    [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'What is 2+2?' }],
    [{ role: 'system', content: 'S' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello, how can I help?' }],
    [{ role: 'user', content: '  padded question \n' }, { role: 'assistant', content: '\n padded answer  ' }, { role: 'user', content: 'again' }],
    [{ role: 'user', content: '写一首诗' }, { role: 'assistant', content: '床前明月光，疑是地上霜。' }],
    [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }],
    [{ role: 'user', content: 'Think first.' }, { role: 'assistant', content: '<think>\nLet me see.\n</think>\n\nThe answer is 4.' }],
    [{ role: 'user', content: 'q1' }, { role: 'assistant', content: '<think>\nold reasoning\n</think>\n\nold answer' }, { role: 'user', content: 'q2' }, { role: 'assistant', content: '<think>\nnew reasoning\n</think>\n\nnew answer' }],
    [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'plain answer, no thinking' }],
    [{ role: 'user', content: '' }, { role: 'assistant', content: '' }],
    [{ role: 'system', content: 'code helper' }, { role: 'user', content: 'func main() {\n\tfmt.Println("hi")\n}' }, { role: 'assistant', content: '```go\npackage main\n```' }],
    [{ role: 'user', content: 'emoji 👍🏽 and <|special|> lookalikes' }],
  ];
  if (family === 'qwen3') {
    base.push(
      [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'answer', reasoning_content: 'given reasoning' }],
      [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a1', reasoning_content: 'r1' }, { role: 'user', content: 'q2' }],
      [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: 'calling' }, { role: 'tool', content: '{"t": 21}' }, { role: 'tool', content: '{"t": 22}' }, { role: 'assistant', content: 'It is 21.' }],
      [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'x' }, { role: 'tool', content: 'r' }],
      [{ role: 'system', content: 's1' }, { role: 'user', content: 'u' }, { role: 'system', content: 'late system' }, { role: 'user', content: 'u2' }],
      [{ role: 'user', content: '<tool_response>\nr\n</tool_response>' }, { role: 'assistant', content: '<think>\nt\n</think>\n\nok' }],
      [{ role: 'user', content: 'q' }, { role: 'assistant', content: '<think>a</think>b<think>c</think>\n\nd' }],
    );
  }
  return base;
}

module.exports = { conversations };
