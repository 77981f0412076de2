local argparse = require("argparse")
local function parser()
  local p = argparse("deploy", "Deploys a service.")
  p:argument("service", "Service name.")
  p:option("-e --env", "Environment.", "staging"):choices({ "staging", "production" })
  p:option("-r --replicas", "Replica count.", "1"):convert(tonumber)
  p:flag("-v --verbose", "Verbose output."):count("*")
  p:option("-t --tag", "Tags."):count("*")
  return p
end
function handle(input)
  local results = {}
  for i, argv in ipairs(input.argvs) do
    local ok, res = parser():pparse(argv)
    if ok then
      results[i] = { ok = true, service = res.service, env = res.env, replicas = res.replicas, verbose = res.verbose,
        tags = table.concat(res.tag, ",") }
    else
      results[i] = { ok = false, error = res }
    end
  end
  return { results = results, usage = parser():get_usage() }
end
