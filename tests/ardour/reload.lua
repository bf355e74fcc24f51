-- Reloads a saved Drumsort test session and saves it again (run by tests/tests/ardour.rs):
--   ardour7-lua reload.lua <session dir> <snapshot> <new snapshot>
-- Prints "DRUMSORT param=<label>=<value>" for each of Drumsort's parameters as the host reads
-- them after the reload, then saves the session as <new snapshot>, so the test can read the
-- plugin's own state as the reloaded plugin gives it. "DRUMSORT saved=<new snapshot>" last.

local dir, snapshot, resaved = arg[1], arg[2], arg[3]
assert (dir and snapshot and resaved, "usage: reload.lua <session dir> <snapshot> <new snapshot>")

ARDOUR.config ():set_hide_dummy_backend (false)
assert (load_session (dir, snapshot), "could not load " .. dir)

local function say (key, value) print ("DRUMSORT " .. key .. "=" .. tostring (value)) end

local drums = Session:route_by_name ("Drums")
assert (not drums:isnil (), "the session has no Drums track")
local plugin = drums:nth_plugin (0)
assert (not plugin:isnil () and plugin:display_name () == "Drumsort", "Drumsort is not the Drums track's first plugin")
local plug = plugin:to_insert ():plugin (0)
for i = 0, plug:parameter_count () - 1 do
	local value, ok = ARDOUR.LuaAPI.get_processor_param (plugin, i, true)
	say ("param", plug:parameter_label (i) .. "=" .. tostring (value))
end
-- Let the plugin run a few blocks, as it would before a user saved again.
sleep (0.5)
assert (Session:save_state (resaved, false, false, false, false, false) == 0, "could not save " .. resaved)
say ("saved", resaved)
