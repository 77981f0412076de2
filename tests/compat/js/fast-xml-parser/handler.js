function handle(input) {
  const parser = new fxp.XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: true });
  const doc = parser.parse(input.xml);
  const builder = new fxp.XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: false });
  return {
    doc,
    rebuilt: builder.build({ root: { item: [{ '@_id': 1, '#text': 'a' }, { '@_id': 2, '#text': 'b&c' }] } }),
    valid: [fxp.XMLValidator.validate(input.xml) === true, fxp.XMLValidator.validate('<a><b></a>') === true],
  };
}
