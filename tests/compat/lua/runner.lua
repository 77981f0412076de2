-- Reference runner for the Lua libraries (used by tests/compat/build.mjs):
--   lua5.4 runner.lua DKJSON_PATH PRELUDE_PATH INPUT_PATH
-- Runs the prelude (library + handler) in a fresh environment with Lua's full standard library, calls
-- handle(input) and prints the result as JSON, converted as engine-lua converts results: a table whose keys are
-- exactly 1..n is an array, any other table (the empty one too) an object with string keys (integer keys
-- written as decimal strings), integral floats within 2^53 are integers, NaN and the infinities are null;
-- functions, userdata, threads, cycles and other keys are errors.

local dkjson = dofile(arg[1])

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- dkjson marks arrays and objects with metatables; engine-lua gives plain tables.
local function plain(v)
  if type(v) ~= "table" then return v end
  setmetatable(v, nil)
  for k, x in pairs(v) do v[k] = plain(x) end
  return v
end

local input, _, err = dkjson.decode(read(arg[3]), 1, nil)
if err then error("input: " .. err) end
input = plain(input)

local env = {}
for k, v in pairs(_G) do env[k] = v end
env._G = env
local chunk = assert(load(read(arg[2]), "=prelude", "t", env))
chunk()
local result = env.handle(input)

local encode
local function number(n)
  if math.type(n) == "integer" then return string.format("%d", n) end
  if n ~= n or n == math.huge or n == -math.huge then return "null" end
  if n == math.floor(n) and math.abs(n) <= 2 ^ 53 then return string.format("%d", math.tointeger(n)) end
  return string.format("%.17g", n)
end

local function str(s)
  if not utf8.len(s) then error("string is not valid UTF-8") end
  return dkjson.quotestring(s)
end

local path = {}
encode = function(v)
  local t = type(v)
  if v == nil then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then return number(v) end
  if t == "string" then return str(v) end
  if t ~= "table" then error("a Lua " .. t .. " has no JSON form") end
  if path[v] then error("table is cyclic") end
  path[v] = true
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  local is_array = n > 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then is_array = false break end
  end
  local parts = {}
  if is_array then
    for i = 1, n do parts[i] = encode(v[i]) end
    path[v] = nil
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for k, x in pairs(v) do
    local key
    if type(k) == "string" then key = k
    elseif math.type(k) == "integer" then key = string.format("%d", k)
    else error("table key of type " .. type(k) .. " is neither a string nor an integer") end
    parts[#parts + 1] = str(key) .. ":" .. encode(x)
  end
  table.sort(parts)
  path[v] = nil
  return "{" .. table.concat(parts, ",") .. "}"
end

io.write(encode(result), "\n")
