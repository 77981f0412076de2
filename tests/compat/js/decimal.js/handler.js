function handle(input) {
  const D = Decimal.clone({ precision: 30 });
  const sum = input.values.reduce((a, v) => a.plus(v), new D(0));
  return {
    sum: sum.toString(),
    naive: input.values.reduce((a, v) => a + Number(v), 0),
    product: input.values.reduce((a, v) => a.times(v), new D(1)).toFixed(10),
    sqrt2: new D(2).sqrt().toString(),
    pi: D.acos(-1).toSignificantDigits(25).toString(),
    div: new D(1).div(7).toString(),
    pow: new D('1.0001').pow(10000).toFixed(15),
    exp: new D(1).exp().toString(),
    compare: new D('0.3').equals(new D('0.1').plus('0.2')),
    rounding: ['2.5', '-2.5', '1.005'].map((v) => new D(v).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toString()),
    hex: new D(255.5).toHexadecimal(),
  };
}
function leak_write() {
  Decimal.set({ precision: 5 });
  return new Decimal(1).div(3).toString();
}
function leak_read() {
  return new Decimal(1).div(3).toString() === '0.33333';
}
