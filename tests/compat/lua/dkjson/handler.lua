local json = require("dkjson")
function handle(input)
  local doc, _, err = json.decode(input.text)
  local keyorder = { "id", "name", "tags" }
  return {
    decoded_name = doc.name,
    decoded_tags = #doc.tags,
    err = select(3, json.decode('{"a": [1, 2')),
    encoded = json.encode({ id = 7, name = "x\"y", tags = { "a", "b" } }, { keyorder = keyorder }),
    pretty = json.encode({ b = { 1, 2 }, a = true }, { indent = true, keyorder = { "a", "b" } }),
    null_value = json.encode({ v = json.null }),
    number = json.encode(0.1),
    unicode = json.encode("\u{e9}\u{1F600}"),
  }
end
function leak_write()
  json.null[1] = "marked"
  return true
end
function leak_read()
  return json.null[1] ~= nil
end
