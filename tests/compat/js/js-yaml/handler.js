function handle(input) {
  const doc = jsyaml.load(input.yaml);
  return {
    doc,
    dumped: jsyaml.dump({ name: 'x', list: [1, 'two', { three: 3 }], multi: 'a\nb\n', empty: null }, { sortKeys: true }),
    all: jsyaml.loadAll('---\na: 1\n---\nb: 2\n'),
    error: (() => {
      try {
        jsyaml.load('a: [1, 2');
        return 'none';
      } catch (e) {
        return e.name;
      }
    })(),
  };
}
