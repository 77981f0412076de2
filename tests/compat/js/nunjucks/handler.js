function handle(input) {
  const env = new nunjucks.Environment(null, { autoescape: true });
  env.addFilter('money', (n) => '$' + n.toFixed(2));
  const tpl =
    '{% set total = 0 %}<h1>{{ title | title }}</h1>{% for p in products | sort(attribute="price") %}' +
    '<p>{{ loop.index }}. {{ p.name }} {{ p.price | money }}{% if p.tags %} [{{ p.tags | join(", ") }}]{% endif %}</p>' +
    '{% endfor %}{{ note }} {{ note | safe }} {{ products | length }} {% macro b(x) %}<b>{{ x }}</b>{% endmacro %}{{ b("m") }}';
  return {
    html: env.renderString(tpl, input),
    math: env.renderString('{{ (a + b) * 2 }} {{ "x" if a > 1 else "y" }} {{ [1,2,3] | sum }}', { a: 2, b: 3 }),
  };
}
function leak_write() {
  nunjucks.configure({ autoescape: false }).addFilter('leaky', () => 'leaked');
  return nunjucks.renderString('{{ 1 | leaky }}', {});
}
function leak_read() {
  try {
    return nunjucks.renderString('{{ 1 | leaky }}', {}) === 'leaked';
  } catch (e) {
    return false;
  }
}
