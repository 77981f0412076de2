local inifile = require("inifile")
function handle(input)
  local t = inifile.parse(input.text, "memory")
  t.server.port = tonumber(t.server.port) + 1
  return { parsed = t, saved = inifile.save("x.ini", t, "memory") }
end
