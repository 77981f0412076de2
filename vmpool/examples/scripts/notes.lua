-- A JSON document store on the service's `kv` namespace (SQLite, this handler's own key space).
-- PUT|POST /run/notes?key=K  body: any JSON  -> {"key": K, "stored": true}
-- GET /run/notes?key=K                       -> {"key": K, "value": <the value, or null if never stored>}
-- An empty key is the store's E_KV_KEY error (400); a value past the store's limit is E_KV_TOO_LARGE (413).
function handle(body)
  local request = vmpool.context().data
  local key = request.query.key
  if type(key) ~= "string" then
    error("notes: the query needs ?key=", 0)
  end
  if request.method == "GET" then
    return { key = key, value = kv.get(key) }
  end
  kv.set(key, body)
  print("notes: stored " .. key)
  return { key = key, stored = true }
end
