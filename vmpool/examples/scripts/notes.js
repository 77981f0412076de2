// A JSON document store on the service's `kv` namespace (SQLite, this handler's own key space).
// PUT|POST /run/notes?key=K  body: any JSON  -> {"key": K, "stored": true}
// GET /run/notes?key=K                       -> {"key": K, "value": <the value, or null if never stored>}
// An empty key is the store's E_KV_KEY error (400); a value past the store's limit is E_KV_TOO_LARGE (413).
function handle(body) {
  const request = vmpool.context().data;
  const key = request.query.key;
  if (typeof key !== "string") {
    throw new Error("notes: the query needs ?key=");
  }
  if (request.method === "GET") {
    return { key, value: kv.get(key) };
  }
  kv.set(key, body);
  console.log(`notes: stored ${key}`);
  return { key, stored: true };
}
