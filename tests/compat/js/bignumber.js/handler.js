function handle(input) {
  const BN = BigNumber.clone({ DECIMAL_PLACES: 20 });
  const a = new BN(input.a);
  const b = new BN(input.b);
  return {
    sum: a.plus(b).toString(),
    product: a.times(b).toString(),
    quotient: a.div(b).toString(),
    power: new BN(2).pow(100).toFixed(),
    hex: new BN(input.a).integerValue().toString(16),
    fromHex: new BN('ff.8', 16).toString(10),
    formatted: new BN('1234567.891').toFormat(2),
    compare: [a.gt(b), a.isInteger(), new BN(NaN).isNaN()],
    sqrt: new BN(10).sqrt().toString(),
  };
}
