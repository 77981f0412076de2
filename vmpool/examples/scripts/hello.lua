-- POST /run/hello {"name": "Ada"} -> {"greeting": "Hello, Ada!"}
function handle(request)
  local name = "world"
  if type(request) == "table" and type(request.name) == "string" then
    name = request.name
  end
  return { greeting = "Hello, " .. name .. "!" }
end
