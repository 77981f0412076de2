function handle(input) {
  const base = input.state;
  const patches = [];
  const next = immer.produce(
    base,
    (draft) => {
      draft.todos.push({ id: 3, text: 'write tests', done: false });
      draft.todos[0].done = true;
      draft.user.name = draft.user.name.toUpperCase();
      delete draft.temp;
    },
    (p) => patches.push(...p)
  );
  const curried = immer.produce((draft, id) => {
    const t = draft.todos.find((x) => x.id === id);
    if (t) t.text += '!';
  });
  return {
    next,
    unchangedShared: next.settings === base.settings,
    baseUntouched: base.todos[0].done === false && base.temp === 'x',
    frozen: Object.isFrozen(next) && Object.isFrozen(next.todos[2]),
    patches: patches.map((p) => p.op + ' ' + p.path.join('/')),
    curried: curried(next, 2).todos[1].text,
    identity: immer.produce(base, () => {}) === base,
  };
}
function leak_write() {
  immer.setAutoFreeze(false);
  return Object.isFrozen(immer.produce({ a: 1 }, (d) => { d.a = 2; }));
}
function leak_read() {
  return !Object.isFrozen(immer.produce({ a: 1 }, (d) => { d.a = 2; }));
}
