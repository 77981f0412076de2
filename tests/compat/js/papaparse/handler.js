function handle(input) {
  const parsed = Papa.parse(input.csv, { header: true, dynamicTyping: true, skipEmptyLines: true });
  const raw = Papa.parse('a;b;"c;d"\n1;2;"3 ""q"""', { delimiter: ';' });
  return {
    rows: parsed.data,
    fields: parsed.meta.fields,
    delimiter: parsed.meta.delimiter,
    errors: parsed.errors.length,
    raw: raw.data,
    unparsed: Papa.unparse(parsed.data, { quotes: false }),
    guessed: Papa.parse('x\ty\n1\t2').meta.delimiter,
  };
}
