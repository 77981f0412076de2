local new_fifo = require("fifo")
function handle(input)
  local q = new_fifo()
  local served = {}
  for _, ev in ipairs(input.events) do
    if ev.op == "join" then q:push(ev.who) else served[#served + 1] = q:pop() end
  end
  local ok = pcall(function() q.extra = 1 end)
  q:setempty(function() return "nobody" end)
  return { served = served, waiting = q:length(), next = q:peek(), set_refused = not ok }
end
