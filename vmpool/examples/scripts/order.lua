-- POST /run/order {"items": [{"sku": "A1", "price": 2.5, "qty": 2}, ...]}
--   -> {"lines": 1, "units": 2, "total": 5}
-- A quantity that is not a positive whole number is the client's mistake: the handler raises an error, and the
-- server answers 422 with the message.
function handle(request)
  local items = (type(request) == "table" and request.items) or {}
  local units, cents = 0, 0
  for _, item in ipairs(items) do
    local qty = item.qty
    if math.type(qty) ~= "integer" or qty <= 0 then
      error("invalid quantity for " .. tostring(item.sku) .. ": " .. tostring(qty), 0)
    end
    units = units + qty
    cents = cents + math.floor(item.price * 100 + 0.5) * qty
  end
  return { lines = #items, units = units, total = cents / 100 }
end
