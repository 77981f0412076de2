function handle(input) {
  return input.strings.map((s) => escapeHtml(s));
}
