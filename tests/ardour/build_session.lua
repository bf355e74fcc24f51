-- Builds the Drumsort test session on the Dummy backend (run by tests/src/ardour.rs):
--   ardour7-lua build_session.lua <session dir> <session name>
--
-- A stereo audio track "Drums" (inputs unconnected, outputs to the master bus) with the Drumsort
-- VST3, a MIDI output port fed by the plugin, and a MIDI track "Notes" recording that port.
-- Lua cannot import audio: the test writes the drum pattern's sources, regions and the session
-- range into the saved XML afterwards.
--
-- Saves two snapshots:
--   <name>  the session as a user would have it; "MIDI channel" set to 5 shortly before saving;
--   notes   the same with "notes to clicks" after Drumsort, so an export shows the notes.
-- Prints "DRUMSORT key=value" lines for the test, and "DRUMSORT built" last.

local dir, name = arg[1], arg[2]
assert (dir and name, "usage: build_session.lua <session dir> <session name>")

-- Ardour hides the Dummy backend unless told not to.
ARDOUR.config ():set_hide_dummy_backend (false)
assert (create_session (dir, name, 48000), "could not create the session " .. dir)

local function say (key, value) print ("DRUMSORT " .. key .. "=" .. tostring (value)) end

say ("superclock_per_second", Temporal.superclock_ticks_per_second ())
say ("block", Session:get_block_size ())

-- The drum track: no input (it plays its region), outputs to the master bus. Auto-connection runs
-- on another thread and may not have happened by the time the session is saved: connect here.
local drums = Session:new_audio_track (2, 2, nil, 1, "Drums", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, false):front ()
assert (drums, "could not create the audio track")
drums:input ():disconnect_all (nil)
drums:output ():disconnect_all (nil)
local master_in = Session:master_out ():input ()
for c = 0, 1 do
	assert (drums:output ():audio (c):connect (master_in:audio (c):name ()) == 0, "cannot connect Drums to the master bus")
end
say ("drums_playlist", drums:playlist ():name ())

local plugin = ARDOUR.LuaAPI.new_plugin (Session, "Drumsort", ARDOUR.PluginType.VST3, "")
assert (not plugin:isnil (), "Ardour found no Drumsort VST3 (is the bundle in ~/.vst3?)")
assert (drums:add_processor_by_index (plugin, 0, nil, true) == 0, "cannot add Drumsort to the track")
local insert = plugin:to_insert ()
say ("latency", plugin:signal_latency ())

-- The plugin's notes leave the track through a MIDI output port, recorded by the "Notes" track.
drums:output ():add_port ("", nil, ARDOUR.DataType ("midi"))
local midi = ARDOUR.ChanCount (ARDOUR.DataType ("midi"), 1)
-- A nil instrument crashes Ardour 7.3; an empty PluginInfo means "none".
local notes = Session:new_midi_track (midi, midi, false, ARDOUR.PluginInfo (), nil, nil, 1, "Notes", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, false, false):front ()
assert (notes, "could not create the MIDI track")
notes:input ():disconnect_all (nil)
notes:output ():disconnect_all (nil)
assert (notes:input ():midi (0):connect (drums:output ():midi (0):name ()) == 0, "cannot connect Notes to Drums' MIDI output")

-- Parameters by name, as the host shows them.
local plug = insert:plugin (0)
local function param_index (label)
	for i = 0, plug:parameter_count () - 1 do
		if plug:parameter_label (i) == label then return i end
	end
	error ("Drumsort has no parameter '" .. label .. "'")
end

-- Set well before saving (the plugin has processed a few blocks since): these only check that
-- the parameters come back after a reload (tests/tests/ardour.rs SET_EARLY), and change neither
-- where hits are found nor their keys.
ARDOUR.LuaAPI.set_processor_param (plugin, param_index ("Note length"), 80)
ARDOUR.LuaAPI.set_processor_param (plugin, param_index ("Velocity floor"), -48)
sleep (0.5)

-- Issue 17, bug (3): a parameter set through the host just before saving. Ardour hands it to a
-- VST3 twice: IEditController::setParamNormalized now, and a parameter change in the next
-- process() call. nice-plug 0.4.2's VST3 wrapper ignores the first while the plugin is processing
-- (wrapper/vst3/wrapper.rs, setParamNormalized: "this parameter change will also be sent to the
-- process function"), so the plugin has the value only after one more block; a state chunk saved
-- before that block holds the old value, and the chunk wins on reload. The plugin cannot see the
-- value earlier. One block is 21 ms here (1,024 samples at 48 kHz): wait a few before saving, as
-- any save after a user's change does. (docs/plugin.md, "Parameters and saved state".)
ARDOUR.LuaAPI.set_processor_param (plugin, param_index ("MIDI channel"), 5)
sleep (0.2)
assert (Session:save_state ("", false, false, false, false, false) == 0, "could not save the session")

-- The "notes" snapshot: the same session with the notes drawn as clicks on the track's audio.
local clicks = ARDOUR.LuaAPI.new_luaproc (Session, "Drumsort test: notes to clicks")
assert (not clicks:isnil (), "Ardour found no 'notes to clicks' Lua DSP script")
assert (drums:add_processor_by_index (clicks, 1, nil, true) == 0, "cannot add 'notes to clicks' after Drumsort")
sleep (0.2)
assert (Session:save_state ("notes", false, false, false, false, false) == 0, "could not save the notes snapshot")
say ("built", name)
