function handle(input) {
  const v = validator;
  const out = {};
  for (const s of input.strings) {
    out[s] = {
      email: v.isEmail(s),
      url: v.isURL(s),
      ip: v.isIP(s),
      uuid: v.isUUID(s),
      numeric: v.isNumeric(s),
      date: v.isISO8601(s),
      json: v.isJSON(s),
    };
  }
  return {
    checks: out,
    escaped: v.escape('<a href="x">&\'</a>'),
    normalized: v.normalizeEmail('John.Doe+tag@GoogleMail.com'),
    trimmed: v.trim('  x  ') + v.ltrim('  y') + v.rtrim('z  '),
    slug: v.blacklist('a-b_c!d', '\\-_!'),
    card: v.isCreditCard('4111111111111111'),
  };
}
