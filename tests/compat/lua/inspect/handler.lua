local inspect = require("inspect")
function handle(input)
  local t = { name = input.name, list = input.list, nested = { a = { b = { c = 1 } } } }
  local mt = setmetatable({ x = 1 }, { __tostring = function() return "X" end })
  return {
    plain = inspect(t),
    depth = inspect(t, { depth = 2 }),
    newline = inspect({ 1, 2, { 3 } }, { newline = "", indent = "" }),
    process = inspect(t, { process = function(item, path) if path[#path] ~= "list" then return item end end }),
    metatable = inspect(mt),
    strings = inspect("a\nb\"c"),
  }
end
