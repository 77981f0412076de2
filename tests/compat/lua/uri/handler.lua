local URI = require("uri")
function handle(input)
  local out = {}
  for i, s in ipairs(input.uris) do
    local u, err = URI:new(s)
    if not u then
      out[i] = { error = err }
    else
      out[i] = { text = tostring(u), scheme = u:scheme(), host = u:host(), port = u:port(), path = u:path(),
        query = u:query() }
    end
  end
  local base = URI:new(input.base)
  local resolved = {}
  for i, rel in ipairs(input.relative) do resolved[i] = tostring(URI:new(rel, base)) end
  return { parsed = out, resolved = resolved }
end
