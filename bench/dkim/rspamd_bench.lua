-- rspamd_bench.lua: rspamd's own DKIM signer run in process inside
-- `rspamadm lua` (no daemon), the same messages as bench_dkim, relaxed/relaxed.
-- Run by rspamd_bench.sh, which hands over (as rspamadm lua -a ARG):
--   CONF RSAKEY EDKEY SECONDS [OUTDIR]
-- CONF is a minimal rspamd config enabling the internal "dkim" module, whose
-- configuration registers rspamd_plugins.dkim.sign: the function rspamd's
-- dkim_signing plugin calls (with key = the key file path, as that plugin
-- does). EDKEY must be in rspamd's ed25519 format (base64 32-byte seed).
-- Per message, as rspamd does when it signs one: a new task from the message
-- (rspamd_task.load_from_string, which copies it), task:process_message()
-- with the task's "skip_process" flag set, so it runs rspamd's MIME parser
-- (headers, parts, body start) but not the scanning-only text processing
-- (tokenisation, language detection, URL extraction; rspamd skips those too
-- when a client sends Flags: skip_process), then dkim.sign (header and body
-- canonicalisation, hashing, signing), then task:destroy().
-- RSPAMD_BENCH_PROCESS=1 in the environment leaves that flag unset: full
-- message processing, as in a scan that also signs.
-- Prints "SIZE ALG MSGS_PER_S"; with OUTDIR also writes OUTDIR/SIZE.ALG.eml,
-- each message with the DKIM-Signature rspamd made.
local rspamd_task = require "rspamd_task"
local rspamd_util = require "rspamd_util"

local conf, rsakey, edkey, secs, outdir = arg[1], arg[2], arg[3], tonumber(arg[4]), arg[5]
if not secs then
  io.stderr:write("usage: rspamadm lua -a CONF -a RSAKEY -a EDKEY -a SECONDS [-a OUTDIR] rspamd_bench.lua\n")
  os.exit(64)
end

local ok, err = rspamd_config:load_ucl(conf)
if ok then ok, err = rspamd_config:parse_rcl() end
if not ok then
  io.stderr:write("rspamd config: " .. tostring(err) .. "\n")
  os.exit(1)
end
rspamd_config:init_modules()
if not (rspamd_plugins and rspamd_plugins.dkim and rspamd_plugins.dkim.sign) then
  io.stderr:write("rspamd_plugins.dkim.sign is not registered (dkim module not configured)\n")
  os.exit(1)
end
local sign = rspamd_plugins.dkim.sign
local full_process = os.getenv("RSPAMD_BENCH_PROCESS") == "1"

local hdr = "Received: from client.example (client.example [192.0.2.1]) by relay.example\r\n"
  .. "\twith ESMTPSA id 1a2b3c; Tue, 24 Nov 2026 10:00:00 +0000\r\n"
  .. "From: \"Acme Newsletter\" <news@acme.example>\r\n"
  .. "To: Customer <someone@customer.example>\r\n"
  .. "Subject: Your November statement is ready\r\n"
  .. "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
  .. "Message-ID: <20261124100000.1234@acme.example>\r\n"
  .. "MIME-Version: 1.0\r\n"
  .. "Content-Type: text/plain; charset=utf-8\r\n"
  .. "List-Unsubscribe: <https://acme.example/u/1234>\r\n"
  .. "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n"
local line = "Dear customer, your statement for November is ready. You can see it online.\r\n"
  .. "It lists every payment we received this month.  Log in to download it.\r\n"
  .. "Thank you for your business. \r\n\r\n"

local function make_msg(size)
  local parts, len = { hdr }, #hdr
  while len < size do
    parts[#parts + 1] = line
    len = len + #line
  end
  return table.concat(parts)
end

-- one signature, everything rspamd does per message; returns the header value
local function sign_once(msg, params)
  local _, task = rspamd_task.load_from_string(msg, rspamd_config)
  if not full_process then
    task:set_flag("skip_process")
  end
  task:process_message()
  local res, sig = sign(task, params)
  task:destroy()
  if not res or not sig then
    io.stderr:write(string.format("rspamd dkim sign failed (%s/%s)\n", params.selector, params.key))
    os.exit(1)
  end
  return sig
end

local algs = {
  { name = "rsa2048", params = { key = rsakey, domain = "acme.example", selector = "s1" } },
  { name = "ed25519", params = { key = edkey, domain = "acme.example", selector = "e1" } },
}

for _, size in ipairs({ 2048, 51200, 5242880 }) do
  local msg = make_msg(size)
  for _, a in ipairs(algs) do
    local sig = sign_once(msg, a.params) -- warms the key cache, as in a running rspamd
    if outdir then
      local f = assert(io.open(string.format("%s/%d.%s.eml", outdir, size, a.name), "wb"))
      f:write("DKIM-Signature: ", (sig:gsub("\r?\n", "\r\n")), "\r\n", msg)
      f:close()
    end
    local n, t0 = 0, rspamd_util.get_ticks()
    while rspamd_util.get_ticks() - t0 < secs do
      sign_once(msg, a.params)
      n = n + 1
    end
    io.write(string.format("%d %s %.1f\n", size, a.name, n / (rspamd_util.get_ticks() - t0)))
    io.flush()
  end
end
