function handle(input) {
  const schema = yup.object({
    name: yup.string().required().min(2),
    age: yup.number().integer().positive().required(),
    email: yup.string().email(),
    tags: yup.array().of(yup.string()).max(3),
    role: yup.mixed().oneOf(['admin', 'user']).default('user'),
  });
  return input.docs.map((doc) => {
    try {
      return { ok: true, value: schema.validateSync(doc, { abortEarly: false }) };
    } catch (e) {
      return { ok: false, errors: e.errors };
    }
  });
}
