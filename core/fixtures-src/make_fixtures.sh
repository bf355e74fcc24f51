#!/bin/sh
# Regenerates the codec fixtures in core/tests/fixtures/ from the formula in gen_source.py.
# Needs python3 and ffmpeg (with libmp3lame and libvorbis): apt-get install -y ffmpeg
# Run from anywhere; the outputs are committed, so this only runs when the fixtures change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../tests/fixtures"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

python3 "$here/gen_source.py" "$tmp/mono44.wav" 44100 1 16
python3 "$here/gen_source.py" "$tmp/stereo44.wav" 44100 2 16
python3 "$here/gen_source.py" "$tmp/stereo32_24.wav" 32000 2 24
python3 "$here/gen_source.py" "$tmp/stereo48.wav" 48000 2 16
python3 "$here/gen_source.py" "$tmp/mono48.wav" 48000 1 16
python3 "$here/gen_source.py" "$tmp/mono22.wav" 22050 1 16

# enc SOURCE.wav [codec options] OUTPUT: metadata stripped and bit-exact so reruns give the same bytes.
enc() { src=$1; shift; ffmpeg -hide_banner -loglevel error -y -i "$src" -map_metadata -1 -fflags +bitexact "$@"; }

enc "$tmp/mono44.wav" -c:a flac "$out/tone_mono.flac"
enc "$tmp/stereo32_24.wav" -c:a flac -sample_fmt s32 "$out/tone_stereo_32k_s24.flac"
enc "$tmp/mono44.wav" -c:a pcm_s16be "$out/tone_mono.aiff"
enc "$tmp/mono22.wav" -c:a pcm_f32be -f aiff "$out/tone_mono_22k_f32.aifc"
enc "$tmp/stereo44.wav" -c:a libmp3lame -b:a 128k "$out/tone_stereo.mp3"
enc "$tmp/mono48.wav" -c:a libmp3lame -b:a 96k "$out/tone_mono_48k.mp3"
enc "$tmp/mono44.wav" -c:a libvorbis -q:a 4 "$out/tone_mono.ogg"
enc "$tmp/stereo48.wav" -c:a libvorbis -q:a 4 "$out/tone_stereo_48k.ogg"
ls -l "$out"
