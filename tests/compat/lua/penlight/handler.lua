local List = require("pl.List")
local tablex = require("pl.tablex")
local stringx = require("pl.stringx")
local class = require("pl.class")
local Account = class()
function Account:_init(owner, balance) self.owner = owner self.balance = balance end
function Account:deposit(n) self.balance = self.balance + n return self end
function Account:__tostring() return self.owner .. ":" .. self.balance end
function handle(input)
  local l = List(input.numbers)
  local acct = Account("ann", 10):deposit(5)
  return {
    sorted = l:clone():sort():slice(1, 3),
    mapped = l:map(function(x) return x * 2 end),
    joined = l:join(","),
    reduced = l:reduce("+"),
    split = stringx.split(input.csv, ","),
    strip = stringx.strip("  padded  "),
    title = stringx.title("hello penlight world"),
    startswith = stringx.startswith(input.csv, "a"),
    account = tostring(acct),
    is_a = acct:is_a(Account),
    upper = tablex.imap(string.upper, input.keys),
    keys_count = #tablex.keys({ a = 1, b = 2, c = 3 }),
    deepcompare = tablex.deepcompare({ a = { 1, 2 } }, { a = { 1, 2 } }),
    text = List.new({ "x", "y" }):__tostring(),
  }
end
function leak_write()
  List.leaked = function() return "leaked" end
  return true
end
function leak_read()
  return List.leaked ~= nil
end
