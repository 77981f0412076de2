function handle(input) {
  const overwrite = (dest, src) => src;
  return {
    merged: deepmerge(input.a, input.b),
    overwriteArrays: deepmerge(input.a, input.b, { arrayMerge: overwrite }),
    all: deepmerge.all([input.a, input.b, { extra: { z: 1 } }]),
    untouched: input.a.list.length,
  };
}
