function handle(input) {
  const md = markdownit({ html: false, linkify: true, typographer: true });
  const plain = markdownit('commonmark');
  return {
    html: md.render(input.doc),
    commonmark: plain.render(input.doc),
    inline: md.renderInline('__bold__ and "quotes" -- dash (c)'),
    tokens: md.parse(input.doc, {}).filter((t) => t.nesting === 1).map((t) => t.tag),
  };
}
