-- A handler that misbehaves on request, to show (and test) how the server maps each failure to a status code.
-- {"do": "throw"} -> 422 exception     {"do": "loop"}    -> 504 timeout
-- {"do": "alloc"} -> 422 memory        {"do": "recurse"} -> 422 stack
-- {"do": "busy", "ms": 50} -> 200 after about 50 ms of CPU work     anything else -> 200 {"ok": true}
local function down(n)
  return down(n + 1) + 1
end

function handle(request)
  local what = request["do"]
  if what == "throw" then
    error("faults: thrown on request", 0)
  elseif what == "loop" then
    while true do end
  elseif what == "alloc" then
    local hoard = {}
    while true do
      hoard[#hoard + 1] = string.rep("x", 65536) .. #hoard
    end
  elseif what == "recurse" then
    return down(0)
  elseif what == "busy" then
    local deadline = os.clock() + (request.ms or 0) / 1000
    local spins = 0
    while os.clock() < deadline do spins = spins + 1 end
    return { ok = true, spins = spins > 0 }
  end
  return { ok = true }
end
