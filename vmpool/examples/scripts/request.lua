-- Shows what a script sees of the request it serves, and logs it.
-- ANY /run/request?... -> {"id", "method", "path", "query", "demo": <the X-Demo header or null>, "previous"}
-- `previous` is what the last request left in a global: always null, since each use starts clean, and
-- `vmpool.context()` (even through a function kept from earlier) only ever returns the current request.
local function current()
  return vmpool.context()
end

function handle()
  local context = current()
  local request = context.data
  local previous = previous_context
  previous_context = context
  print("request:", request.method, request.path)
  if request.query.warn ~= nil then
    console.warn("request: asked to warn", request.query.warn)
  end
  return {
    id = context.id,
    method = request.method,
    path = request.path,
    query = request.query,
    demo = request.headers["x-demo"],
    previous = previous,
  }
end
