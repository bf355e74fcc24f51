-- Rolls a Drumsort test session in real time on the Dummy backend, recording the plugin's notes
-- on the "Notes" track (run by tests/tests/ardour.rs):
--   ardour7-lua roll.lua <session dir> <snapshot> <seconds>
-- Prints "DRUMSORT region=<position> <start>" (samples) for each recorded region,
-- "DRUMSORT note=<sample> <MIDI channel 1-16> <key> <velocity>" for every recorded note, with the
-- sample on the session's timeline, and "DRUMSORT rolled=<samples>" last.
--
-- The Dummy backend runs in real time. Started with no driver named, its ports have no systemic
-- latency. Its named drivers ("Normal Speed", and "Unit-Test", which luasession picks by itself)
-- give the master bus 272 samples of output latency, and Ardour 7.3 then records a track fed by
-- another track's output that much early: notes that this setting records on their hits were
-- recorded 275 samples (272 in whole MIDI ticks) before them. Recorded notes are in MIDI ticks,
-- 1920 a beat: 12.5 samples at the session's 120 bpm and 48 kHz.

local dir, snapshot, seconds = arg[1], arg[2], tonumber (arg[3])
assert (dir and snapshot and seconds, "usage: roll.lua <session dir> <snapshot> <seconds>")

ARDOUR.config ():set_hide_dummy_backend (false)
assert (AudioEngine:set_backend ("None (Dummy)", "", ""), "no Dummy backend")
assert (load_session (dir, snapshot), "could not load " .. dir)

local function say (key, value) print ("DRUMSORT " .. key .. "=" .. tostring (value)) end

local notes = Session:route_by_name ("Notes"):to_track ()
assert (not notes:isnil (), "the session has no Notes track")
notes:rec_enable_control ():set_value (1, PBD.GroupControlDisposition.NoGroup)
Session:request_locate (0, false, ARDOUR.LocateTransportDisposition.MustStop, ARDOUR.TransportRequestSource.TRS_UI)
sleep (0.5)
Session:maybe_enable_record (false)
Session:request_roll (ARDOUR.TransportRequestSource.TRS_UI)
sleep (seconds)
Session:request_stop (false, false, ARDOUR.TransportRequestSource.TRS_UI)
local rolled = Session:transport_sample ()
sleep (1) -- the butler writes the capture and makes its region

local map = Temporal.TempoMap.read ()
for region in notes:playlist ():region_list ():iter () do
	say ("region", region:position ():samples () .. " " .. region:start ():samples ())
	for note in ARDOUR.LuaAPI.note_list (region:to_midiregion ():model ()):iter () do
		-- Note times count beats from the start of the recording, which starts at the session's 0.
		say ("note", map:sample_at_beats (note:time ()) .. " " .. note:channel () + 1 .. " " .. note:note () .. " " .. note:velocity ())
	end
end
say ("rolled", rolled)
