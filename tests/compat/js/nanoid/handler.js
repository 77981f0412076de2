function handle(input) {
  const ids = Array.from({ length: input.count }, () => nanoid.nanoid());
  const custom = nanoid.customAlphabet('abc123', 12)();
  return {
    lengths: ids.map((id) => id.length),
    alphabet: ids.every((id) => /^[A-Za-z0-9_-]+$/.test(id)),
    distinct: new Set(ids).size === ids.length,
    custom: custom.length === 12 && /^[abc123]+$/.test(custom),
  };
}
