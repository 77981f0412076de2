local s = require("say")
s:set_namespace("en")
s:set("greeting", "Hello %s, you have %s messages")
s:set("bye", "Goodbye")
s:set_namespace("fr")
s:set("greeting", "Bonjour %s, vous avez %s messages")
function handle(input)
  local out = {}
  for i, req in ipairs(input.requests) do
    s:set_namespace(req.lang)
    out[i] = s(req.key, req.vars) or "missing"
  end
  s:set_namespace("en")
  return out
end
function leak_write()
  s:set_namespace("en")
  s:set("bye", "Changed")
  return s("bye")
end
function leak_read()
  s:set_namespace("en")
  return s("bye") == "Changed"
end
