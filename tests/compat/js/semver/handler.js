function handle(input) {
  const vs = input.versions;
  return {
    valid: vs.map((v) => semver.valid(semver.coerce(v))),
    sorted: vs.filter((v) => semver.valid(v)).sort(semver.rcompare),
    satisfies: input.ranges.map((r) => vs.filter((v) => semver.valid(v) && semver.satisfies(v, r))),
    maxSatisfying: semver.maxSatisfying(vs.filter((v) => semver.valid(v)), '^1.2.0'),
    inc: [semver.inc('1.2.3', 'minor'), semver.inc('1.2.3-beta.1', 'prerelease'), semver.inc('1.2.3', 'premajor', 'rc')],
    diff: semver.diff('1.2.3', '1.3.0'),
    range: new semver.Range('~1.2 || >=3.0.0 <3.1').toString(),
    intersects: semver.intersects('^1.0.0', '1.5.x'),
  };
}
