-- A stand-in for the part of Wireshark's Lua API that mep.lua uses, so that
-- the generated dissector can run under a plain Lua interpreter (5.2 or 5.4).
-- tests/test_lua.py uses it to check the Lua 5.4 side, which Debian 12's
-- tshark (Lua 5.2) cannot show.  Records every tree item as {abbrev, value}.

if not bit then
    -- Wireshark provides `bit`; plain Lua 5.2 has bit32 and 5.4 the ~ operator
    -- (loaded from a string so that 5.2's parser never sees it).
    bit = bit32 or {bxor = load("return function(a, b) return a ~ b end")()}
end

base = {NONE = 0, DEC = 1, HEX = 2}
frametype = {NONE = 0, REQUEST = 1, RESPONSE = 2}
local names = {__index = function(_, k) return k end}
expert = {group = setmetatable({}, names), severity = setmetatable({}, names)}
wtap_encaps = {}
for i = 0, 15 do wtap_encaps["USER" .. i] = 45 + i end

local function field(kind)
    return function(abbrev, name, _, _, mask)
        return {abbrev = abbrev, kind = kind, name = name, mask = mask}
    end
end
ProtoField = {}
for _, k in ipairs({"uint8", "uint16", "uint24", "uint32", "int8", "int16", "int24", "int32",
                    "bytes", "string", "bool", "framenum", "relative_time", "none"}) do
    ProtoField[k] = field(k)
end
ProtoExpert = {new = function(abbrev, text) return {abbrev = abbrev, text = text} end}
Pref = {}
for _, k in ipairs({"uint", "string", "bool"}) do
    Pref[k] = function(label, default) return {pref_default = default} end
end
Field = {new = function() return function() end end}  -- no packet comments here
DissectorTable = {get = function() return {add = function() end, remove = function() end} end}
NSTime = {new = function(s, ns) return s + ns / 1e9 end}

function Proto(name, desc)
    local values = {}
    local prefs = setmetatable({}, {
        __index = function(_, k) return values[k] end,
        __newindex = function(_, k, v)
            if type(v) == "table" and v.pref_default ~= nil then v = v.pref_default end
            values[k] = v
        end,
    })
    return {name = name, description = desc, prefs = prefs}
end

-- Tvb / TvbRange over a Lua string (offsets from 0, as in Wireshark)
local Range = {}
Range.__index = Range
function Range:uint()
    local v = 0
    for k = self.off + 1, self.off + self.len do v = v * 256 + self.s:byte(k) end
    return v
end
function Range:le_uint()
    local v = 0
    for k = self.off + self.len, self.off + 1, -1 do v = v * 256 + self.s:byte(k) end
    return v
end
function Range:raw() return self.s:sub(self.off + 1, self.off + self.len) end

local Tvb = {}
Tvb.__index = Tvb
Tvb.__call = function(self, off, len) return setmetatable({s = self.s, off = off, len = len}, Range) end
function Tvb:len() return #self.s end
function Tvb:raw(off, len)
    off = off or 0
    if len == nil or len < 0 then return self.s:sub(off + 1) end
    return self.s:sub(off + 1, off + len)
end
function new_tvb(s) return setmetatable({s = s}, Tvb) end

ByteArray = {new = function(hex)
    local s = hex:gsub("%x%x", function(c) return string.char(tonumber(c, 16)) end)
    return {tvb = function() return new_tvb(s) end}
end}

-- TreeItem: records {abbrev, value} pairs and expert texts in a flat list.
-- new_tree(nil) stands for Wireshark's absent tree (no -V, -T or filter; the
-- first pass of -2): every item is then empty (len 0) and records nothing.
-- As in Wireshark, a real tree reaches the dissector under a hidden placeholder
-- item (hidden = true); the absent one is not hidden.
local Item = {}
Item.__index = Item
local NoItem = setmetatable({len = 0, hidden = false}, Item)
function new_tree(rec)
    if rec == nil then return NoItem end
    return setmetatable({rec = rec, len = 1, hidden = true}, Item)
end
-- The root Wireshark gives when it builds no tree: no item, but expert infos
-- still count (the first pass of tshark without -2 shows them); rec keeps them.
function new_root(rec) return setmetatable({rec = rec, len = 0, hidden = false, root = true}, Item) end
function Item:add(f, v, given)
    if self.root then return NoItem end
    if self.rec == nil then return NoItem end
    if type(f) == "table" and f.abbrev then
        local value = v
        if given ~= nil and f.mask then  -- a bit field given its container, as Wireshark does
            local shift = 0
            while math.floor(f.mask / 2 ^ shift) % 2 == 0 do shift = shift + 1 end
            local width = 0
            while math.floor(f.mask / 2 ^ (shift + width)) % 2 == 1 do width = width + 1 end
            value = math.floor(math.floor(given / 2 ^ shift) % 2 ^ width)
            if f.kind == "bool" then
                value = value ~= 0
            elseif f.kind:sub(1, 3) == "int" and value >= 2 ^ (width - 1) then
                value = math.floor(value - 2 ^ width)
            end
        elseif given ~= nil then
            value = given
        elseif type(v) == "table" and getmetatable(v) == Range then
            if f.kind:sub(1, 4) == "uint" then value = v:uint() else value = v:raw() end
        end
        if f.kind ~= "none" then self.rec.fields[#self.rec.fields + 1] = {f.abbrev, value, f.kind} end
    end
    return setmetatable({rec = self.rec, len = 1, hidden = false}, Item)
end
function Item:set_generated() end
function Item:append_text() end
function Item:add_proto_expert_info(e, text)
    if self.rec then self.rec.experts[#self.rec.experts + 1] = text or e.text end
end
