// POST /run/hello {"name": "Ada"} -> {"greeting": "Hello, Ada!"}
function handle(request) {
  const name = request && typeof request.name === "string" ? request.name : "world";
  return { greeting: `Hello, ${name}!` };
}
