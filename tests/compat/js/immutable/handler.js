function handle(input) {
  const { Map, List, Set, fromJS, Seq } = Immutable;
  const state = fromJS(input.state);
  const next = state.setIn(['users', 0, 'name'], 'Zed').updateIn(['counters', 'hits'], (n) => n + 1).deleteIn(['temp']);
  const list = List(input.numbers);
  return {
    next: next.toJS(),
    same: state.equals(fromJS(input.state)),
    changed: !next.equals(state),
    list: list.filter((n) => n % 2).map((n) => n * n).reverse().toArray(),
    set: Set(input.numbers).union([10, 11]).sort().toArray(),
    grouped: list.groupBy((n) => (n > 4 ? 'big' : 'small')).map((g) => g.size).toObject(),
    seq: Seq(input.numbers).map((n) => n + 1).take(3).toArray(),
    merged: Map({ a: 1, b: 2 }).merge({ b: 3, c: 4 }).toObject(),
    hash: Map({ a: 1 }).hashCode() === Map({ a: 1 }).hashCode(),
  };
}
