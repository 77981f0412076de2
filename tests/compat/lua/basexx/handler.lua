local basexx = require("basexx")
function handle(input)
  local s = input.text
  return {
    base64 = basexx.to_base64(s),
    back64 = basexx.from_base64(basexx.to_base64(s)),
    url64 = basexx.to_url64(s),
    base32 = basexx.to_base32(s),
    crockford = basexx.to_crockford("Hello"),
    hex = basexx.to_hex(s),
    bits = basexx.to_bit("AB"),
    z85 = basexx.to_z85("1234"),
    from_hex = basexx.from_hex("48656c6c6f"),
  }
end
