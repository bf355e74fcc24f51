#!/usr/bin/python3
"""A GTK 3 window that accepts text/uri-list drops, for the editor's drag-out test.

Usage: drop_target.py X Y W H TIMEOUT_S. Prints READY once mapped, then URI <uri> for each URI
of the first drop it receives and exits; exits with status 2 if nothing arrives in time.
"""
import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gdk, Gtk  # noqa: E402

x, y, w, h, timeout = (int(v) for v in sys.argv[1:6])

win = Gtk.Window(title="drop target")
win.set_default_size(w, h)
win.move(x, y)
label = Gtk.Label(label="drop here")
win.add(label)
win.drag_dest_set(Gtk.DestDefaults.ALL, [Gtk.TargetEntry.new("text/uri-list", 0, 0)], Gdk.DragAction.COPY)
status = {"code": 2}


def received(_widget, _context, _x, _y, data, _info, _time):
    for uri in data.get_uris() or []:
        print("URI " + uri, flush=True)
    status["code"] = 0
    # Let GTK send XdndFinished before leaving.
    GLib.timeout_add(200, Gtk.main_quit)


def mapped(*_args):
    print("READY", flush=True)
    return False


win.connect("drag-data-received", received)
win.connect("map-event", mapped)
win.connect("destroy", Gtk.main_quit)
GLib.timeout_add(timeout * 1000, Gtk.main_quit)
win.show_all()
Gtk.main()
sys.exit(status["code"])
