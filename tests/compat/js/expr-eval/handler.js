function handle(input) {
  const parser = new exprEval.Parser();
  parser.functions.clamp = (x, lo, hi) => Math.min(Math.max(x, lo), hi);
  return {
    values: input.rules.map((r) => parser.parse(r).evaluate(input.vars)),
    variables: parser.parse('x * y + z / 2').variables(),
    simplified: parser.parse('x * (2 + 3) + y').simplify({ x: 2 }).toString(),
    substituted: parser.parse('a + b').substitute('a', 'c * 2').toString(),
    fn: parser.evaluate('f(x) = x * 2; f(21)'),
  };
}
const sharedParser = new exprEval.Parser();
function leak_write() {
  sharedParser.consts.LEAKED = 42;
  return sharedParser.evaluate('LEAKED');
}
function leak_read() {
  return sharedParser.consts.LEAKED === 42;
}
