function handle(input) {
  return {
    v5: input.names.map((n) => uuid.v5(n, uuid.v5.URL)),
    v3: input.names.map((n) => uuid.v3(n, uuid.v3.DNS)),
    valid: input.candidates.map((c) => uuid.validate(c)),
    versions: input.candidates.filter((c) => uuid.validate(c)).map((c) => uuid.version(c)),
    parsed: Array.from(uuid.parse(input.candidates[0])),
    stringified: uuid.stringify(uuid.parse(input.candidates[0])),
    nil: uuid.NIL,
    v7: uuid.v7({ msecs: 1700000000000, seq: 5, random: new Uint8Array(16).fill(7) }),
  };
}
