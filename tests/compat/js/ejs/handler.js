function handle(input) {
  const tpl = '<h1><%= title %></h1><ul><% items.forEach(function (item, i) { %><li class="<%= i % 2 ? "odd" : "even" %>"><%= item.name %> - <%- item.html %></li><% }) %></ul><%# comment %><% if (footer) { -%>\n<footer><%= footer %></footer><% } %>';
  const fn = ejs.compile(tpl);
  return {
    html: fn(input),
    rendered: ejs.render('<%= a + b %>|<%= JSON.stringify(list) %>', { a: 2, b: 3, list: [1, 'x'] }),
    delimiter: ejs.render('[?= x ?]', { x: '<y>' }, { delimiter: '?', openDelimiter: '[', closeDelimiter: ']' }),
  };
}
function leak_write() {
  ejs.cache.set('leak.ejs', ejs.compile('leaked'));
  return ejs.render('x', {}, { cache: true, filename: 'leak.ejs' });
}
function leak_read() {
  return ejs.cache.get('leak.ejs') !== undefined;
}
