local mp = require("MessagePack")
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
function handle(input)
  local packed = mp.pack(input.doc)
  local back = mp.unpack(packed)
  return {
    hex = hex(mp.pack({ 1, 2, 3, "abc", true, false })),
    size = #packed,
    round_trip = back.name == input.doc.name and back.items[2] == input.doc.items[2],
    int = hex(mp.pack(300)),
    neg = hex(mp.pack(-5)),
    float = hex(mp.pack(1.5)),
    str = hex(mp.pack(string.rep("x", 40))),
  }
end
function leak_write()
  mp.set_number("float")
  return true
end
function leak_read()
  return #mp.pack(1.5) == 5
end
