function handle(input) {
  const c = chroma(input.color);
  return {
    hex: c.hex(),
    rgb: c.rgb(),
    hsl: c.hsl().map((v) => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000)),
    darker: c.darken(1).hex(),
    mixed: chroma.mix(input.color, 'blue', 0.5, 'lab').hex(),
    scale: chroma.scale(['yellow', '008ae5']).mode('lch').colors(5),
    contrast: Math.round(chroma.contrast(input.color, 'white') * 1000) / 1000,
    named: chroma('hotpink').hex(),
    luminance: Math.round(c.luminance() * 1e6) / 1e6,
  };
}
