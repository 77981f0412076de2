function handle(input) {
  const _ = lodash;
  const users = input.users;
  const byCity = _.groupBy(users, 'city');
  const tpl = _.template('Hello <%= name %>, you are <%- age %>!');
  return {
    sorted: _.map(_.orderBy(users, ['age', 'name'], ['desc', 'asc']), 'name'),
    cities: _.mapValues(byCity, (us) => _.sumBy(us, 'age')),
    chunks: _.chunk(_.range(1, 11), 3),
    picked: _.pick(users[0], ['name', 'city']),
    merged: _.merge({}, input.defaults, input.overrides),
    kebab: _.kebabCase('Hello World FooBar'),
    camel: _.camelCase('foo_bar-baz qux'),
    uniq: _.uniqBy(users, 'city').length,
    flat: _.flattenDeep([1, [2, [3, [4]], 5]]),
    get: _.get(input, 'defaults.deep.value', 'missing'),
    template: users.map((u) => tpl(u)),
    escaped: _.escape('<a href="x">&</a>'),
    debounced: typeof _.debounce(() => 1, 10),
    zip: _.zipObject(['a', 'b', 'c'], [1, 2, 3]),
    chain: _.chain(users).filter((u) => u.age > 20).map('name').sortBy().join(',').value(),
  };
}
function leak_write() {
  lodash.templateSettings.interpolate = /\{\{([\s\S]+?)\}\}/g;
  return lodash.template('{{ x }}')({ x: 'set' });
}
function leak_read() {
  return lodash.template('{{ x }}')({ x: 'seen' }) === 'seen';
}
