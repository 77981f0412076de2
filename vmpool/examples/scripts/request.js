// Shows what a script sees of the request it serves, and logs it.
// ANY /run/request?... -> {"id", "method", "path", "query", "demo": <the X-Demo header or null>, "previous"}
// `previous` is what the last request left in a global: always null, since each use starts clean, and
// `vmpool.context()` (even through a function kept from earlier) only ever returns the current request.
const current = () => vmpool.context();

function handle() {
  const context = current();
  const request = context.data;
  const previous = globalThis.previous === undefined ? null : globalThis.previous;
  globalThis.previous = context;
  console.log("request:", request.method, request.path);
  if (request.query.warn !== undefined) {
    console.warn("request: asked to warn", request.query.warn);
  }
  return {
    id: context.id,
    method: request.method,
    path: request.path,
    query: request.query,
    demo: request.headers["x-demo"] === undefined ? null : request.headers["x-demo"],
    previous,
  };
}
