function handle(input) {
  const fns = ['camelCase', 'capitalCase', 'constantCase', 'dotCase', 'kebabCase', 'noCase', 'pascalCase', 'pascalSnakeCase', 'pathCase', 'sentenceCase', 'snakeCase', 'trainCase'];
  const out = {};
  for (const s of input.strings) out[s] = fns.map((f) => changeCase[f](s));
  return out;
}
