function handle(input) {
  const local = new marked.Marked({ gfm: true });
  return {
    html: marked.parse(input.doc),
    inline: marked.parseInline('**bold** _it_ `code` [l](http://x.y)'),
    instance: local.parse('| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~'),
    tokens: marked.lexer(input.doc).map((t) => t.type),
  };
}
function leak_write() {
  marked.setOptions({ breaks: true });
  return marked.parse('a\nb');
}
function leak_read() {
  return marked.parse('a\nb').includes('<br>');
}
