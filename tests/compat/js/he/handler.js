function handle(input) {
  return {
    encoded: he.encode(input.text),
    named: he.encode(input.text, { useNamedReferences: true }),
    decoded: he.decode(input.html),
    escaped: he.escape('<img src="x" alt=\'y\'>'),
    unescaped: he.unescape('&lt;p&gt; &amp;amp; &copy; &#x1F600;'),
  };
}
