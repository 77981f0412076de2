function handle(input) {
  const doc = toml.parse(input.toml);
  return {
    title: doc.title,
    owner: doc.owner.name,
    dob: doc.owner.dob.toISOString(),
    database: doc.database,
    servers: Object.keys(doc.servers).map((k) => k + '=' + doc.servers[k].ip),
    products: doc.products,
    dumped: toml.stringify({ a: 1, b: 'two', c: [1, 2], d: { e: true } }),
  };
}
