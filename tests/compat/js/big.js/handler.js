function handle(input) {
  const prices = input.prices.map((p) => new Big(p));
  const total = prices.reduce((a, b) => a.plus(b), new Big(0));
  return {
    total: total.toFixed(2),
    vat: total.times(input.vat).round(2).toString(),
    avg: total.div(prices.length).toFixed(4),
    sorted: prices.slice().sort((a, b) => a.cmp(b)).map((b) => b.toString()),
    sqrt: new Big(2).sqrt().toString(),
    pow: new Big('1.1').pow(5).toString(),
    exp: new Big('123456789.123').toExponential(3),
    mod: new Big(10).mod(3).toString(),
  };
}
function leak_write() {
  Big.DP = 3;
  return new Big(1).div(3).toString();
}
function leak_read() {
  return new Big(1).div(3).toString() === '0.333';
}
