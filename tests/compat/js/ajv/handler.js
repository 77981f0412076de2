function handle(input) {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(input.schema);
  return input.docs.map((doc) => {
    const ok = validate(doc);
    return { ok, errors: ok ? [] : validate.errors.map((e) => e.instancePath + ' ' + e.message) };
  });
}
