local binaryheap = require("binaryheap")
function handle(input)
  local h = binaryheap.minUnique()
  for _, task in ipairs(input.tasks) do h:insert(task.priority, task.name) end
  h:update("write", 0)
  local order = {}
  while h:peek() do
    local payload, value = h:pop()
    order[#order + 1] = payload .. ":" .. value
  end
  local m = binaryheap.maxHeap()
  for _, task in ipairs(input.tasks) do m:insert(task.priority) end
  local top = {}
  for i = 1, 3 do top[i] = m:pop() end
  return { order = order, top = top }
end
