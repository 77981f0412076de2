function handle(input) {
  return {
    parsed: input.strings.map((s) => ms(s)),
    short: input.millis.map((n) => ms(n)),
    long: input.millis.map((n) => ms(n, { long: true })),
  };
}
