function handle(input) {
  const z = zod.z;
  const User = z.object({
    name: z.string().min(2),
    age: z.coerce.number().int().positive(),
    email: z.string().email().optional(),
    tags: z.array(z.string()).max(3).default([]),
    kind: z.enum(['admin', 'user']).default('user'),
  });
  const Shape = z.discriminatedUnion('type', [
    z.object({ type: z.literal('circle'), r: z.number() }),
    z.object({ type: z.literal('rect'), w: z.number(), h: z.number() }),
  ]);
  return {
    users: input.users.map((u) => {
      const r = User.safeParse(u);
      return r.success ? { ok: true, value: r.data } : { ok: false, issues: r.error.issues.map((i) => i.path.join('.') + ': ' + i.code) };
    }),
    shapes: input.shapes.map((s) => Shape.safeParse(s).success),
    transformed: z.string().transform((s) => s.split(',')).pipe(z.array(z.string().trim())).parse(' a, b ,c'),
  };
}
