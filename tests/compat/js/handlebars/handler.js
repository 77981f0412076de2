function handle(input) {
  const hb = Handlebars.create();
  hb.registerHelper('upper', (s) => String(s).toUpperCase());
  hb.registerHelper('sum', (items) => items.reduce((a, i) => a + i.qty, 0));
  hb.registerPartial('row', '<tr><td>{{name}}</td><td>{{qty}}</td></tr>');
  const tpl = hb.compile(
    '<h2>{{upper title}}</h2><table>{{#each items}}{{> row}}{{/each}}</table>' +
      '{{#if vip}}VIP {{else}}regular {{/if}}total={{sum items}} {{#with owner}}{{first}} {{last}}{{/with}} {{{html}}} {{html}}'
  );
  return {
    html: tpl(input),
    each: hb.compile('{{#each list}}{{@index}}:{{this}}{{#unless @last}},{{/unless}}{{/each}}')({ list: ['a', 'b', 'c'] }),
    lookup: hb.compile('{{lookup map key}}')({ map: { k: 'v' }, key: 'k' }),
  };
}
function leak_write() {
  Handlebars.registerHelper('leaked', () => 'leaked');
  return Handlebars.compile('{{leaked}}')({});
}
function leak_read() {
  return Handlebars.helpers.leaked !== undefined;
}
