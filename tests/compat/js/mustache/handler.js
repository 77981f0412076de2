function handle(input) {
  const view = input.view;
  const tpl = '<h1>{{title}}</h1>{{#items}}<li>{{name}}: {{price}}{{#onSale}} (sale){{/onSale}}</li>{{/items}}{{^items}}none{{/items}} {{{raw}}} {{escaped}} {{> footer}}';
  return {
    html: Mustache.render(tpl, view, { footer: '<footer>{{year}}</footer>' }),
    empty: Mustache.render('{{#items}}x{{/items}}{{^items}}none{{/items}}', { items: [] }),
    lambda: Mustache.render('{{#bold}}Hi {{name}}.{{/bold}}', {
      name: 'Tater',
      bold: () => (text, render) => '<b>' + render(text) + '</b>',
    }),
    tags: Mustache.parse('a {{b}} {{#c}}d{{/c}}').length,
  };
}
function leak_write() {
  Mustache.tags = ['<%', '%>'];
  return Mustache.render('<% x %>', { x: 1 });
}
function leak_read() {
  return Mustache.render('{{x}}', { x: 1 }) !== '1';
}
