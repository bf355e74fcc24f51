ardour {
	["type"]    = "dsp",
	name        = "Drumsort test: notes to clicks",
	category    = "Utility",
	license     = "GPL-3.0-or-later",
	author      = "Drumsort tests",
	description = [[Replaces the audio with a click on every sample that has MIDI note-ons, so an
audio export shows where the notes fall on the timeline: the left channel holds the number of
note-ons / 16, the right channel the sum of their keys / 1024. Exact in 32-bit float.]]
}

function dsp_ioconfig ()
	return { { audio_in = 2, audio_out = 2, midi_in = 1, midi_out = 0 } }
end

function dsp_run (ins, outs, n_samples)
	local left = outs[1]
	local right = outs[2]
	ARDOUR.DSP.memset (left, 0, n_samples)
	ARDOUR.DSP.memset (right, 0, n_samples)
	local l = left:array ()
	local r = right:array ()
	for _, event in pairs (midiin) do
		local t = event["time"] -- 1 .. n_samples
		local d = event["data"]
		if #d == 3 and (d[1] >> 4) == 9 and d[3] > 0 then
			-- The plugin sends one note per class it hears in a hit, all on the hit's sample.
			l[t] = l[t] + 1 / 16
			r[t] = r[t] + d[2] / 1024
		end
	end
end
