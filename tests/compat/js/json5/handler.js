function handle(input) {
  return {
    parsed: JSON5.parse(input.text),
    stringified: JSON5.stringify({ a: 1, 'b-c': [1, 'x'], d: { e: null } }, null, 2),
    quoted: JSON5.stringify("it's", { quote: '"' }),
  };
}
