-- Run mep.lua over records read from a file, as tshark -2 would, and print
-- what it shows.  Usage: lua run.lua SHIM MEP_LUA RECORDS [MAK] [MBK] [OPTIONS]
-- RECORDS: one line per record: number rel_time direction(-1/0/1) hex
-- OPTIONS: letters; "g": the first pass takes the general path (no fast path),
-- "1": print the first pass too (Info and expert texts, as tshark without -2),
-- "r": the second pass goes from the last record to the first (as the GUI may).
local shim, plugin, records, mak, mbk, options = arg[1], arg[2], arg[3], arg[4], arg[5], arg[6] or ""
if options:find("g", 1, true) then MEPSHARK_GENERAL_PATH = true end
dofile(shim)
local real_proto = Proto
local proto
Proto = function(...) proto = real_proto(...); return proto end
dofile(plugin)
proto.prefs.mak = mak or ""
proto.prefs.mbk = mbk or ""
proto.init()

local recs = {}
for line in io.lines(records) do
    local n, t, d, hex = line:match("^(%d+) (%S+) (%S+) (%x*)$")
    local s = hex:gsub("%x%x", function(c) return string.char(tonumber(c, 16)) end)
    recs[#recs + 1] = {number = tonumber(n), t = tonumber(t), dir = tonumber(d), s = s}
end

-- The first pass, like tshark's first pass of -2, has no tree (new_tree(nil), or
-- with option "1" a root that keeps the expert texts).
local function run(visited, backward)
    local out = {}
    local first, last, step = 1, #recs, 1
    if backward then first, last, step = #recs, 1, -1 end
    for k = first, last, step do
        local r = recs[k]
        local rec = {fields = {}, experts = {}}
        local pinfo = {number = r.number, visited = visited, p2p_dir = r.dir, rel_ts = r.t,
                       cols = {}}
        local tree = new_tree(visited and rec or nil)
        if not visited and options:find("1", 1, true) then tree = new_root(rec) end
        proto.dissector(new_tvb(r.s), pinfo, tree)
        rec.info = pinfo.cols.info
        out[k] = rec
    end
    return out
end

local clock = os.clock()
local pass1 = run(false)
local first = os.clock() - clock
local out = run(true, options:find("r", 1, true) ~= nil)
io.stderr:write(string.format("first pass: %.3f s for %d records\n", first, #recs))
local function show(v, kind)
    if type(v) == "string" then
        if kind == "bytes" then return (v:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
        return v
    end
    if type(v) == "boolean" then return v and "1" or "0" end
    if kind == "relative_time" then return string.format("%.9f", v) end
    return string.format("%d", v)
end
if options:find("1", 1, true) then
    for k, rec in ipairs(pass1) do
        print("P\t" .. recs[k].number .. "\t" .. (rec.info or ""))
        for _, e in ipairs(rec.experts) do print("X\t" .. e) end
    end
end
for k, rec in ipairs(out) do
    print("R\t" .. recs[k].number .. "\t" .. (rec.info or ""))
    for _, f in ipairs(rec.fields) do print("F\t" .. f[1] .. "\t" .. show(f[2], f[3])) end
    for _, e in ipairs(rec.experts) do print("E\t" .. e) end
end
