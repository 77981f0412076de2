function handle(input) {
  const scope = { x: 3, y: 4 };
  const results = input.expressions.map((e) => math.format(math.evaluate(e, scope), { precision: 12 }));
  const A = math.matrix([[2, 1], [1, 3]]);
  return {
    results,
    scope: Object.keys(scope).sort(),
    det: math.det(A),
    inverse: math.inv(A).toArray().map((r) => r.map((v) => math.round(v, 10))),
    units: math.evaluate('5 inch to cm').toString(),
    fraction: math.format(math.fraction(1, 3).add(math.fraction(1, 6))),
    bignum: math.bignumber('0.1').plus('0.2').toString(),
    complex: math.sqrt(-4).toString(),
    derivative: math.derivative('x^2 + 3x', 'x').toString(),
    simplified: math.simplify('2x + 3x').toString(),
    stats: [math.mean([1, 2, 3, 4]), math.median([5, 1, 3]), math.std([2, 4, 4, 4, 5, 5, 7, 9])],
  };
}
function leak_write() {
  math.import({ leakedConstant: 42 }, { override: true });
  return math.evaluate('leakedConstant');
}
function leak_read() {
  try {
    return math.evaluate('leakedConstant') === 42;
  } catch (e) {
    return false;
  }
}
