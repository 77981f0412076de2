local M = require("moses")
function handle(input)
  local nums = input.numbers
  return {
    sum = M.reduce(nums, function(a, b) return a + b end),
    evens = M.filter(nums, function(v) return v % 2 == 0 end),
    squares = M.map(nums, function(v) return v * v end),
    uniq = M.unique({ 1, 2, 2, 3, 3, 3 }),
    zipped = M.zip({ "a", "b" }, { 1, 2 }),
    max = M.max(nums),
    range = M.range(1, 10, 3),
    flatten = M.flatten({ 1, { 2, { 3, { 4 } } } }),
    sorted = M.sort(M.clone(input.words)),
    count = M.countf(nums, function(v) return v > 3 end),
    tail = M.rest(nums, 5),
  }
end
