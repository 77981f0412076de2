function handle(input) {
  return {
    plural: input.words.map((w) => pluralize.plural(w)),
    singular: input.words.map((w) => pluralize.singular(pluralize.plural(w))),
    counted: input.words.map((w, i) => pluralize(w, i, true)),
    isPlural: input.words.map((w) => pluralize.isPlural(w)),
  };
}
function leak_write() {
  pluralize.addIrregularRule('leakword', 'leakwordz');
  return pluralize('leakword', 2);
}
function leak_read() {
  return pluralize('leakword', 2) === 'leakwordz';
}
