function handle(input) {
  return {
    default: input.titles.map((t) => slugify(t)),
    lower: input.titles.map((t) => slugify(t, { lower: true, strict: true })),
    custom: slugify('Hello, World & Friends', { replacement: '_', remove: /[,]/g, lower: true }),
  };
}
function leak_write() {
  slugify.extend({ '♥': 'love' });
  return slugify('I ♥ JS');
}
function leak_read() {
  return slugify('I ♥ JS') === 'I-love-JS';
}
