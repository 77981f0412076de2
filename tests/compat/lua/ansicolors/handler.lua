local colors = require("ansicolors")
function handle(input)
  local out = {}
  for i, line in ipairs(input.lines) do
    out[i] = colors("%{" .. line.style .. "}" .. line.text .. "%{reset}")
  end
  return { lines = out, noreset = colors.noReset("%{bright red}alert"), plain = colors("no codes") }
end
