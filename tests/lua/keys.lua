-- Feed key preference texts to mep.lua under a plain Lua interpreter and print
-- what it makes of each: its warnings, and how it verifies a request sealed
-- with the key Python read from the same text.
-- Usage: lua keys.lua SHIM MEP_LUA CASES
-- CASES: one line per case: hex(text) hex(request record, or nothing)
-- Output per case: "W\t<warning>" lines, "S\t<digest status>\t<key>" when a
-- record was given, then "END".
local shim, plugin, cases = arg[1], arg[2], arg[3]
dofile(shim)
local real_proto = Proto
local proto
Proto = function(...) proto = real_proto(...); return proto end
dofile(plugin)
local warnings = {}
io.stderr = {write = function(_, ...)
    for _, s in ipairs({...}) do
        for line in s:gmatch("[^\n]+") do warnings[#warnings + 1] = line end
    end
end}
local function unhex(h)
    return (h:gsub("%x%x", function(c) return string.char(tonumber(c, 16)) end))
end
for line in io.lines(cases) do
    local text, record = line:match("^(%x*) ?(%x*)$")
    proto.prefs.mak = ""  -- a warning repeats only after a change
    proto.prefs.mbk = ""
    proto.init()
    warnings = {}
    proto.prefs.mak = unhex(text)
    proto.prefs.mbk = ""
    proto.init()
    for _, w in ipairs(warnings) do print("W\t" .. w) end
    if record ~= "" then
        local rec = {fields = {}, experts = {}}
        for _, visited in ipairs({false, true}) do  -- as tshark -2
            local pinfo = {number = 1, visited = visited, p2p_dir = 0, rel_ts = 0, cols = {}}
            proto.dissector(new_tvb(unhex(record)), pinfo, new_tree(visited and rec or nil))
        end
        local status, key = "", ""
        for _, f in ipairs(rec.fields) do
            if f[1] == "mep.digest.status" then status = tostring(f[2]) end
            if f[1] == "mep.key" then key = f[2] end
        end
        print("S\t" .. status .. "\t" .. key)
    end
    print("END")
end
