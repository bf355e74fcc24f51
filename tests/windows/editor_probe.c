/* A CLAP host's editor side for Windows, run under Wine on Xvfb by tests/tests/windows/editor.rs.
 *
 * As a DAW does: OleInitialize on the GUI thread, LoadLibrary, clap_entry, the factory, create,
 * init and activate the plugin (its worker threads start there), then the gui extension:
 * is_api_supported("win32", embedded), create, set_scale(1), get_size, set_parent on a window of
 * its own, show. Beside the editor it opens a second window registered as an OLE drop target
 * (RegisterDragDrop), as a DAW's track would be: it accepts copies and writes what a drop brings
 * as CF_HDROP. An audio thread processes 512-frame stereo blocks at about real-time pace:
 * silence, and INPUT once as soon as the file PLAY exists. When the file DRAG_IN appears, the
 * probe drags the file it names (one UTF-8 path) as a drag source of its own (DoDragDrop with a
 * CF_HDROP data object, as from Explorer): the test holds the button and carries it to the
 * editor. The main thread runs a message loop (which also serves the plugin's request_callback)
 * until the file STOP exists or SECONDS pass.
 *
 *   editor_probe.exe PLUGIN REPORT STOP SECONDS INPUT PLAY DRAG_IN
 *     INPUT  raw little-endian f32 mono samples, played on both channels
 *     REPORT text, flushed line by line: "plugin <id>", "editor <x> <y> <width> <height>" and
 *            "target <x> <y> <width> <height>" (screen pixels), "ready"; during drags "enter",
 *            "format <clipboard format>" for each format the dragged data offers, "leave", and on
 *            a drop one "dropped <path, UTF-8>" per file then "drop <count>"; "played" once
 *            INPUT has gone through the plugin, "dragged-in <hresult> <effect>" when the drag from
 *            DRAG_IN ends, "closed" at the end
 * Exit code 0 when STOP appeared and every step worked; otherwise a message on stderr says
 * which step failed. */
#define COBJMACROS
#include <windows.h>
#include <ole2.h>
#include <shellapi.h>
#include <shlobj.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clap.h"

/* Where the windows go on the 1280x800 test screen. */
#define TARGET_X 1000
#define TARGET_Y 120
#define TARGET_SIZE 240

static FILE *report;

static void fail(const char *step) {
    fprintf(stderr, "editor_probe: %s\n", step);
    fflush(stderr);
    exit(1);
}

/* One whole line per call (the audio thread reports too). */
static void say(const char *format, ...) {
    char line[4 * 32768 + 64];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    strcat(line, "\n");
    fputs(line, report);
    fflush(report);
}

/* Host side ----------------------------------------------------------------------------------- */
static volatile LONG callback_requested;
/* The host side of the gui extension (nice-plug's editor needs one): fixed size, no requests. */
static void gui_resize_hints_changed(const clap_host *h) { (void)h; }
static bool gui_request_resize(const clap_host *h, uint32_t w, uint32_t height) { (void)h; (void)w; (void)height; return false; }
static bool gui_request_show(const clap_host *h) { (void)h; return false; }
static bool gui_request_hide(const clap_host *h) { (void)h; return false; }
static void gui_closed(const clap_host *h, bool destroyed) { (void)h; say("gui-closed %d", destroyed); }
static const clap_host_gui host_gui = {
    gui_resize_hints_changed, gui_request_resize, gui_request_show, gui_request_hide, gui_closed,
};
static const void *host_get_extension(const clap_host *h, const char *id) {
    (void)h;
    return strcmp(id, "clap.gui") == 0 ? &host_gui : NULL;
}
static void host_request_restart(const clap_host *h) { (void)h; }
static void host_request_process(const clap_host *h) { (void)h; }
static void host_request_callback(const clap_host *h) { (void)h; InterlockedExchange(&callback_requested, 1); }
static const clap_host host = {
    {1, 2, 2}, NULL, "drumsort editor_probe", "Drumsort tests", "", "0.1",
    host_get_extension, host_request_restart, host_request_process, host_request_callback,
};

/* The drop target: an IDropTarget that takes copies of files ------------------------------- */
static HRESULT STDMETHODCALLTYPE target_query(IDropTarget *self, REFIID iid, void **out) {
    if (IsEqualIID(iid, &IID_IUnknown) || IsEqualIID(iid, &IID_IDropTarget)) {
        *out = self;
        IDropTarget_AddRef(self);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}
/* One static object: reference counting has nothing to free. */
static ULONG STDMETHODCALLTYPE target_add_ref(IDropTarget *self) { (void)self; return 2; }
static ULONG STDMETHODCALLTYPE target_release(IDropTarget *self) { (void)self; return 1; }

static DWORD take_copies(DWORD allowed) { return (allowed & DROPEFFECT_COPY) ? DROPEFFECT_COPY : DROPEFFECT_NONE; }

static HRESULT STDMETHODCALLTYPE target_enter(IDropTarget *self, IDataObject *data, DWORD keys, POINTL at, DWORD *effect) {
    (void)self; (void)keys; (void)at;
    say("enter");
    IEnumFORMATETC *formats = NULL;
    if (SUCCEEDED(IDataObject_EnumFormatEtc(data, DATADIR_GET, &formats)) && formats) {
        FORMATETC format;
        while (IEnumFORMATETC_Next(formats, 1, &format, NULL) == S_OK) say("format %u", format.cfFormat);
        IEnumFORMATETC_Release(formats);
    }
    *effect = take_copies(*effect);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE target_over(IDropTarget *self, DWORD keys, POINTL at, DWORD *effect) {
    (void)self; (void)keys; (void)at;
    *effect = take_copies(*effect);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE target_leave(IDropTarget *self) {
    (void)self;
    say("leave");
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE target_drop(IDropTarget *self, IDataObject *data, DWORD keys, POINTL at, DWORD *effect) {
    (void)self; (void)keys; (void)at;
    FORMATETC format = {CF_HDROP, NULL, DVASPECT_CONTENT, -1, TYMED_HGLOBAL};
    STGMEDIUM medium;
    HRESULT got = IDataObject_GetData(data, &format, &medium);
    if (FAILED(got)) {
        say("drop-error %08lx", (unsigned long)got);
        *effect = DROPEFFECT_NONE;
        return S_OK;
    }
    HDROP files = (HDROP)medium.hGlobal;
    UINT count = DragQueryFileW(files, 0xFFFFFFFF, NULL, 0);
    static WCHAR wide[32768];
    static char utf8[4 * 32768 + 1];
    for (UINT i = 0; i < count; i++) {
        if (DragQueryFileW(files, i, wide, 32768) == 0) continue;
        if (WideCharToMultiByte(CP_UTF8, 0, wide, -1, utf8, sizeof utf8, NULL, NULL) > 0) say("dropped %s", utf8);
    }
    ReleaseStgMedium(&medium);
    say("drop %u", count);
    *effect = take_copies(*effect);
    return S_OK;
}

static IDropTargetVtbl target_vtbl = {
    target_query, target_add_ref, target_release, target_enter, target_over, target_leave, target_drop,
};
static IDropTarget target = {&target_vtbl};

/* The audio thread ---------------------------------------------------------------------------- */
#define BLOCK 512
static volatile LONG quit, play;
static float *input;
static uint32_t input_frames;

static uint32_t no_events_size(const clap_input_events *l) { (void)l; return 0; }
static const clap_event_header *no_events_get(const clap_input_events *l, uint32_t i) { (void)l; (void)i; return NULL; }
static const clap_input_events no_events = {NULL, no_events_size, no_events_get};
static bool drop_event(const clap_output_events *l, const clap_event_header *e) { (void)l; (void)e; return true; }
static const clap_output_events event_sink = {NULL, drop_event};

static DWORD WINAPI audio_thread(LPVOID arg) {
    const clap_plugin *plugin = arg;
    static float in_l[BLOCK], in_r[BLOCK], out_l[BLOCK], out_r[BLOCK];
    float *ins[2] = {in_l, in_r}, *outs[2] = {out_l, out_r};
    if (!plugin->start_processing(plugin)) { say("audio-error start_processing"); return 1; }
    uint32_t played = 0;
    for (int64_t steady = 0; !quit; steady += BLOCK) {
        memset(in_l, 0, sizeof in_l);
        if (play && played < input_frames) {
            uint32_t n = input_frames - played < BLOCK ? input_frames - played : BLOCK;
            memcpy(in_l, input + played, n * sizeof(float));
            played += n;
            if (played == input_frames) say("played");
        }
        memcpy(in_r, in_l, sizeof in_r);
        clap_audio_buffer in = {ins, NULL, 2, 0, 0}, out = {outs, NULL, 2, 0, 0};
        clap_process p = {steady, BLOCK, NULL, &in, &out, 1, 1, &no_events, &event_sink};
        if (plugin->process(plugin, &p) == CLAP_PROCESS_ERROR) { say("audio-error process"); break; }
        Sleep(10); /* a 512-frame block is 10.7 ms at 48 kHz */
    }
    plugin->stop_processing(plugin);
    return 0;
}

static void read_input(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) fail("cannot open INPUT");
    fseek(file, 0, SEEK_END);
    long bytes = ftell(file);
    fseek(file, 0, SEEK_SET);
    input_frames = (uint32_t)(bytes / (long)sizeof(float));
    input = calloc(input_frames + 1, sizeof(float));
    if (!input || fread(input, sizeof(float), input_frames, file) != input_frames) fail("cannot read INPUT");
    fclose(file);
}

/* The drag source: one file as CF_HDROP --------------------------------------------------------- */
static HGLOBAL hdrop_for(const WCHAR *path) {
    size_t chars = wcslen(path);
    HGLOBAL memory = GlobalAlloc(GMEM_MOVEABLE | GMEM_ZEROINIT, sizeof(DROPFILES) + (chars + 2) * sizeof(WCHAR));
    if (!memory) return NULL;
    DROPFILES *files = GlobalLock(memory);
    files->pFiles = sizeof(DROPFILES);
    files->fWide = TRUE;
    memcpy((char *)files + sizeof(DROPFILES), path, chars * sizeof(WCHAR));
    GlobalUnlock(memory);
    return memory;
}

static WCHAR drag_path[32768];
static FORMATETC hdrop_format = {CF_HDROP, NULL, DVASPECT_CONTENT, -1, TYMED_HGLOBAL};

static HRESULT STDMETHODCALLTYPE data_query(IDataObject *self, REFIID iid, void **out) {
    if (IsEqualIID(iid, &IID_IUnknown) || IsEqualIID(iid, &IID_IDataObject)) {
        *out = self;
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE data_add_ref(IDataObject *self) { (void)self; return 2; }
static ULONG STDMETHODCALLTYPE data_release(IDataObject *self) { (void)self; return 1; }
static bool is_hdrop(const FORMATETC *f) {
    return f && f->cfFormat == CF_HDROP && f->dwAspect == DVASPECT_CONTENT && (f->tymed & TYMED_HGLOBAL);
}
static HRESULT STDMETHODCALLTYPE data_get(IDataObject *self, FORMATETC *f, STGMEDIUM *medium) {
    (void)self;
    if (!is_hdrop(f)) return DV_E_FORMATETC;
    medium->tymed = TYMED_HGLOBAL;
    medium->hGlobal = hdrop_for(drag_path);
    medium->pUnkForRelease = NULL;
    return medium->hGlobal ? S_OK : E_OUTOFMEMORY;
}
static HRESULT STDMETHODCALLTYPE data_get_here(IDataObject *self, FORMATETC *f, STGMEDIUM *m) { (void)self; (void)f; (void)m; return E_NOTIMPL; }
static HRESULT STDMETHODCALLTYPE data_query_get(IDataObject *self, FORMATETC *f) { (void)self; return is_hdrop(f) ? S_OK : DV_E_FORMATETC; }
static HRESULT STDMETHODCALLTYPE data_canonical(IDataObject *self, FORMATETC *in, FORMATETC *out) {
    (void)self; (void)in;
    if (out) out->ptd = NULL;
    return DATA_S_SAMEFORMATETC;
}
static HRESULT STDMETHODCALLTYPE data_set(IDataObject *self, FORMATETC *f, STGMEDIUM *m, BOOL release) { (void)self; (void)f; (void)m; (void)release; return E_NOTIMPL; }
static HRESULT STDMETHODCALLTYPE data_enum(IDataObject *self, DWORD direction, IEnumFORMATETC **out) {
    (void)self;
    if (direction != DATADIR_GET) return E_NOTIMPL;
    return SHCreateStdEnumFmtEtc(1, &hdrop_format, out);
}
static HRESULT STDMETHODCALLTYPE data_advise(IDataObject *self, FORMATETC *f, DWORD a, IAdviseSink *s, DWORD *c) { (void)self; (void)f; (void)a; (void)s; (void)c; return OLE_E_ADVISENOTSUPPORTED; }
static HRESULT STDMETHODCALLTYPE data_unadvise(IDataObject *self, DWORD c) { (void)self; (void)c; return OLE_E_ADVISENOTSUPPORTED; }
static HRESULT STDMETHODCALLTYPE data_enum_advise(IDataObject *self, IEnumSTATDATA **out) { (void)self; (void)out; return OLE_E_ADVISENOTSUPPORTED; }
static IDataObjectVtbl data_vtbl = {
    data_query, data_add_ref, data_release, data_get, data_get_here, data_query_get,
    data_canonical, data_set, data_enum, data_advise, data_unadvise, data_enum_advise,
};
static IDataObject drag_data = {&data_vtbl};

static HRESULT STDMETHODCALLTYPE source_query(IDropSource *self, REFIID iid, void **out) {
    if (IsEqualIID(iid, &IID_IUnknown) || IsEqualIID(iid, &IID_IDropSource)) {
        *out = self;
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE source_add_ref(IDropSource *self) { (void)self; return 2; }
static ULONG STDMETHODCALLTYPE source_release(IDropSource *self) { (void)self; return 1; }
static HRESULT STDMETHODCALLTYPE source_continue(IDropSource *self, BOOL escape, DWORD keys) {
    (void)self;
    if (escape) return DRAGDROP_S_CANCEL;
    return (keys & MK_LBUTTON) ? S_OK : DRAGDROP_S_DROP;
}
static HRESULT STDMETHODCALLTYPE source_feedback(IDropSource *self, DWORD effect) { (void)self; (void)effect; return DRAGDROP_S_USEDEFAULTCURSORS; }
static IDropSourceVtbl source_vtbl = {source_query, source_add_ref, source_release, source_continue, source_feedback};
static IDropSource drag_source = {&source_vtbl};

/* Drags the file named in the UTF-8 file `list` until the button goes up. */
static void drag_in(const char *list) {
    char utf8[4 * 32768];
    FILE *file = fopen(list, "rb");
    if (!file) fail("cannot open DRAG_IN");
    size_t n = fread(utf8, 1, sizeof utf8 - 1, file);
    fclose(file);
    utf8[n] = 0;
    if (!MultiByteToWideChar(CP_UTF8, 0, utf8, -1, drag_path, 32768)) fail("DRAG_IN is not a UTF-8 path");
    DWORD effect = DROPEFFECT_NONE;
    HRESULT result = DoDragDrop(&drag_data, &drag_source, DROPEFFECT_COPY, &effect);
    say("dragged-in %08lx %lu", (unsigned long)result, (unsigned long)effect);
}

/* Windows ------------------------------------------------------------------------------------ */
static HWND plain_window(const wchar_t *class_name, COLORREF colour, int x, int y, int width, int height) {
    WNDCLASSW wc;
    memset(&wc, 0, sizeof wc);
    wc.lpfnWndProc = DefWindowProcW;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.hbrBackground = CreateSolidBrush(colour);
    wc.hCursor = LoadCursorW(NULL, (LPCWSTR)IDC_ARROW);
    wc.lpszClassName = class_name;
    if (!RegisterClassW(&wc)) fail("RegisterClass failed");
    HWND window = CreateWindowExW(0, class_name, class_name, WS_POPUP | WS_VISIBLE | WS_CLIPCHILDREN, x, y, width,
                                  height, NULL, NULL, wc.hInstance, NULL);
    if (!window) fail("CreateWindow failed");
    return window;
}

static void say_rect(const char *name, HWND window) {
    RECT r;
    POINT origin = {0, 0};
    GetClientRect(window, &r);
    ClientToScreen(window, &origin);
    say("%s %ld %ld %ld %ld", name, origin.x, origin.y, r.right - r.left, r.bottom - r.top);
}

int main(int argc, char **argv) {
    if (argc != 8) fail("usage: editor_probe PLUGIN REPORT STOP SECONDS INPUT PLAY DRAG_IN");
    report = fopen(argv[2], "w");
    if (!report) fail("cannot create REPORT");
    const char *stop = argv[3], *play_file = argv[6], *drag_in_file = argv[7];
    bool dragged_in = false;
    read_input(argv[5]);
    ULONGLONG deadline = GetTickCount64() + 1000ULL * (ULONGLONG)atoi(argv[4]);
    if (FAILED(OleInitialize(NULL))) fail("OleInitialize failed");

    HMODULE dll = LoadLibraryA(argv[1]);
    if (!dll) { fprintf(stderr, "LoadLibrary error %lu\n", GetLastError()); fail("cannot load the plugin DLL"); }
    const clap_plugin_entry *entry = (const clap_plugin_entry *)GetProcAddress(dll, "clap_entry");
    if (!entry || !entry->init(argv[1])) fail("no clap_entry or clap_entry.init failed");
    const clap_plugin_factory *factory = entry->get_factory("clap.plugin-factory");
    if (!factory || factory->get_plugin_count(factory) < 1) fail("no CLAP plugin factory or no plugin in it");
    const clap_plugin_descriptor *desc = factory->get_plugin_descriptor(factory, 0);
    say("plugin %s", desc->id);
    const clap_plugin *plugin = factory->create_plugin(factory, &host, desc->id);
    if (!plugin || !plugin->init(plugin)) fail("create_plugin or plugin.init failed");
    if (!plugin->activate(plugin, 48000.0, 1, BLOCK)) fail("activate failed");
    HANDLE audio = CreateThread(NULL, 0, audio_thread, (LPVOID)plugin, 0, NULL);
    if (!audio) fail("CreateThread failed");

    const clap_plugin_gui *gui = plugin->get_extension(plugin, "clap.gui");
    if (!gui) fail("the plugin has no gui extension");
    if (!gui->is_api_supported(plugin, "win32", false)) fail("no embedded win32 editor");
    if (!gui->create(plugin, "win32", false)) fail("gui.create failed");
    gui->set_scale(plugin, 1.0); /* a host may be refused this */
    uint32_t width = 0, height = 0;
    if (!gui->get_size(plugin, &width, &height) || !width || !height) fail("gui.get_size gave no size");
    HWND parent = plain_window(L"DrumsortProbeHost", RGB(0x30, 0x30, 0x30), 0, 0, (int)width, (int)height);
    clap_window window = {"win32", {.win32 = parent}};
    if (!gui->set_parent(plugin, &window)) fail("gui.set_parent failed");
    if (!gui->show(plugin)) fail("gui.show failed");

    HWND track = plain_window(L"DrumsortProbeTrack", RGB(0xC8, 0xC8, 0xC8), TARGET_X, TARGET_Y, TARGET_SIZE, TARGET_SIZE);
    if (FAILED(RegisterDragDrop(track, &target))) fail("RegisterDragDrop failed");
    say_rect("editor", parent);
    say_rect("target", track);
    say("ready");

    /* A thread timer wakes the loop to look for STOP and the plugin's callback requests. */
    SetTimer(NULL, 0, 15, NULL);
    bool stopped = false;
    MSG msg;
    while (!stopped && GetMessageW(&msg, NULL, 0, 0) > 0) {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
        if (InterlockedExchange(&callback_requested, 0)) plugin->on_main_thread(plugin);
        if (!play && GetFileAttributesA(play_file) != INVALID_FILE_ATTRIBUTES) InterlockedExchange(&play, 1);
        if (!dragged_in && GetFileAttributesA(drag_in_file) != INVALID_FILE_ATTRIBUTES) {
            dragged_in = true;
            drag_in(drag_in_file);
        }
        stopped = GetFileAttributesA(stop) != INVALID_FILE_ATTRIBUTES;
        if (!stopped && GetTickCount64() > deadline) fail("STOP did not appear in time");
    }
    RevokeDragDrop(track);
    gui->destroy(plugin);
    DestroyWindow(track);
    DestroyWindow(parent);
    InterlockedExchange(&quit, 1);
    WaitForSingleObject(audio, INFINITE);
    CloseHandle(audio);
    plugin->deactivate(plugin);
    plugin->destroy(plugin);
    entry->deinit();
    say("closed");
    fclose(report);
    OleUninitialize();
    free(input);
    return 0;
}
