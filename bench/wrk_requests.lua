-- Replays pre-signed webhook requests, one after the other, each once: every request wrk
-- sends is a new delivery (a repeat would only measure the duplicate path).
-- The file has one request per line: <path>\t<signature header>\t<signature>\t<body>.
local requests = {}
local next_index = 0

init = function(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, header, signature, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]*)\t(.*)$")
    local headers = { ["Content-Type"] = "application/json" }
    if signature ~= "" then
      headers[header] = signature
    end
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  file:close()
end

request = function()
  next_index = next_index + 1
  return requests[((next_index - 1) % #requests) + 1]
end
