#!/usr/bin/python3
"""A GTK 3 window that drags a file as text/uri-list, for the editor's drop-in test.

Usage: drag_source.py X Y W H TIMEOUT_S PATH. Prints READY once mapped, SENT when the drop
target fetched the data, and END <action> when the drag ended.
"""
import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gdk, Gtk  # noqa: E402

x, y, w, h, timeout = (int(v) for v in sys.argv[1:6])
path = sys.argv[6]

win = Gtk.Window(title="drag source")
win.set_default_size(w, h)
win.move(x, y)
box = Gtk.EventBox()
box.add(Gtk.Label(label="drag me"))
win.add(box)
box.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [Gtk.TargetEntry.new("text/uri-list", 0, 0)], Gdk.DragAction.COPY)


def data_get(_widget, _context, data, _info, _time):
    data.set_uris([GLib.filename_to_uri(path, None)])
    print("SENT", flush=True)


def drag_end(_widget, context):
    print("END", flush=True)
    GLib.timeout_add(200, Gtk.main_quit)


def mapped(*_args):
    print("READY", flush=True)
    return False


box.connect("drag-data-get", data_get)
box.connect("drag-end", drag_end)
win.connect("map-event", mapped)
win.connect("destroy", Gtk.main_quit)
GLib.timeout_add(timeout * 1000, Gtk.main_quit)
win.show_all()
Gtk.main()
