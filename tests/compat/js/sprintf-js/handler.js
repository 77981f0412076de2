function handle(input) {
  const s = sprintfJs.sprintf;
  return {
    basic: s('%s is %d years and %.2f%% done', input.name, input.age, input.pct),
    padded: s('[%5s|%-5s|%05d|%+d|%x|%X|%o|%e|%b]', 'ab', 'cd', 42, 7, 255, 255, 8, 12345.678, 5),
    named: s('Hello %(user.first)s %(user.last)s', { user: { first: 'Ada', last: 'L' } }),
    positional: s('%2$s %1$s', 'world', 'hello'),
    vsprintf: sprintfJs.vsprintf('%s-%s-%s', ['a', 'b', 'c']),
    json: s('%j', { a: [1, 2] }),
    precision: s('%.3s|%10.4f|%g', 'abcdef', Math.PI, 0.0001234),
  };
}
