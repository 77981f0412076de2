function handle(input) {
  const out = {};
  for (const f of input.formats) out[f] = input.numbers.map((n) => numeral(n).format(f));
  return {
    formatted: out,
    unformatted: ['1,234.56', '$10.5k', '42%', '(1,000)', '1.2mb'].map((s) => numeral(s).value()),
    math: numeral(1000).add(10).multiply(2).subtract(20).divide(4).value(),
  };
}
function leak_write() {
  numeral.defaultFormat('0.00');
  return numeral(1).format();
}
function leak_read() {
  return numeral(1).format() === '1.00';
}
