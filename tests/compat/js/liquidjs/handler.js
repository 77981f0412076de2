function handle(input) {
  const engine = new liquidjs.Liquid();
  const tpl =
    '{% assign sorted = items | sort: "price" %}{% for i in sorted %}{{ forloop.index }}:{{ i.name | upcase }}={{ i.price | times: 1.1 | round: 2 }}{% unless forloop.last %}, {% endunless %}{% endfor %}' +
    ' | {{ title | truncate: 10 }} | {{ items | map: "name" | join: "/" }} | {% if user.admin %}admin{% else %}user{% endif %} | {{ "a,b,c" | split: "," | reverse | join: "" }}';
  return {
    out: engine.parseAndRenderSync(tpl, input),
    date: engine.parseAndRenderSync('{{ d | date: "%Y-%m-%d" }}', { d: '2024-03-15T10:00:00Z' }),
    cases: engine.parseAndRenderSync('{% case x %}{% when 1 %}one{% when 2 %}two{% else %}many{% endcase %}', { x: 2 }),
  };
}
