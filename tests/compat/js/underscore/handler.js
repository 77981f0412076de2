function handle(input) {
  const _ = underscore;
  const people = input.people;
  const tpl = _.template('<ul><% _.each(items, function(i) { %><li><%- i %></li><% }); %></ul>');
  return {
    pluck: _.pluck(people, 'name'),
    sorted: _.pluck(_.sortBy(people, 'score'), 'name'),
    grouped: _.mapObject(_.groupBy(people, (p) => (p.score >= 50 ? 'pass' : 'fail')), (g) => g.length),
    max: _.max(people, 'score').name,
    invert: _.invert({ a: 'x', b: 'y' }),
    intersection: _.intersection([1, 2, 3, 4], [2, 4, 6], [4, 2]),
    partition: _.partition(_.range(10), (n) => n % 3 === 0),
    template: tpl({ items: ['a<b', 'c&d'] }),
    countBy: _.countBy(['one', 'two', 'three', 'four'], 'length'),
    chain: _.chain(people).where({ team: 'red' }).pluck('score').reduce((a, b) => a + b, 0).value(),
    unescape: _.unescape('&lt;p&gt;&amp;&#x27;'),
  };
}
function leak_write() {
  underscore.mixin({ leakedMixin: function () { return 'leaked'; } });
  return underscore.leakedMixin();
}
function leak_read() {
  return typeof underscore.leakedMixin === 'function';
}
