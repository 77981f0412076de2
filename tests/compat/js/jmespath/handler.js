function handle(input) {
  const queries = [
    'locations[?state == `WA`].name | sort(@) | {WashingtonCities: join(`, `, @)}',
    'people[?age > `20`].[name, age]',
    'max_by(people, &age).name',
    'length(people)',
    'people[*].name | [0:2]',
    'sort_by(people, &name)[].name',
    'locations[].state | sort(@)',
    'sum(people[].age)',
  ];
  return queries.map((q) => jmespath.search(input, q));
}
