function handle(input) {
  const fuse = new Fuse(input.books, { keys: ['title', 'author.name'], includeScore: true, threshold: 0.4 });
  return input.queries.map((q) => fuse.search(q).map((r) => ({ title: r.item.title, score: Math.round(r.score * 1e6) / 1e6 })));
}
