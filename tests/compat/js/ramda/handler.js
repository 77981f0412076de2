function handle(input) {
  const R = ramda;
  const orders = input.orders;
  const total = R.pipe(R.map((o) => R.multiply(o.qty, o.price)), R.sum);
  const byCustomer = R.pipe(R.groupBy(R.prop('customer')), R.map(total));
  return {
    total: total(orders),
    byCustomer: byCustomer(orders),
    names: R.pipe(R.pluck('item'), R.uniq, R.sortBy(R.identity))(orders),
    evolved: R.evolve({ qty: R.inc, item: R.toUpper }, orders[0]),
    lens: R.over(R.lensPath(['a', 'b']), R.add(10), { a: { b: 5 } }),
    curried: R.map(R.add(2), [1, 2, 3]),
    partitioned: R.partition(R.propEq('alice', 'customer'), orders).map(R.length),
    zipped: R.zipObj(['x', 'y'], [1, 2]),
    compose: R.compose(R.join('-'), R.reverse, R.split(''))('abc'),
    merged: R.mergeDeepRight({ a: { b: 1, c: 2 } }, { a: { c: 3 } }),
  };
}
