local Mediator = require("mediator")
function handle(input)
  local m = Mediator()
  local log = {}
  m:subscribe({ "order" }, function(o) log[#log + 1] = "all:" .. o.id end)
  m:subscribe({ "order", "paid" }, function(o) log[#log + 1] = "paid:" .. o.id end, { priority = 1 })
  m:subscribe({ "order", "paid" }, function(o) log[#log + 1] = "big:" .. o.id return nil, false end,
    { predicate = function(o) return o.total > 100 end })
  for _, ev in ipairs(input.events) do m:publish(ev.channel, ev.order) end
  return log
end
