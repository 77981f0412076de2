function handle(input) {
  return {
    parsed: input.queries.map((q) => qs.parse(q, { ignoreQueryPrefix: true })),
    stringified: qs.stringify(input.object, { encodeValuesOnly: true }),
    brackets: qs.stringify({ a: [1, 2] }, { arrayFormat: 'brackets' }),
    comma: qs.parse('a=1,2,3', { comma: true }),
    depth: qs.parse('a[b][c][d][e][f][g]=x', { depth: 2 }),
  };
}
