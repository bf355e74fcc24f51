/* A minimal CLAP host for Windows, run under Wine by tests/tests/windows.rs.
 *
 * It does what a DAW does with the plugin DLL and nothing more: LoadLibrary, clap_entry, init,
 * the plugin factory, create + init the plugin, the render extension set to offline (as a bounce,
 * so the notes do not depend on how fast Wine runs), activate at 48 kHz, then on an audio thread
 * of its own start_processing and process the input in 512-sample stereo blocks with an empty
 * input event list and an output event list that keeps the note-ons. The main thread serves the
 * plugin's request_callback meanwhile. It also calls the VST3 entry point (GetPluginFactory) of
 * the same DLL and lists its classes.
 *
 * Written in C against the few CLAP structs it needs (clap.h) so it builds with mingw-w64 alone
 * in well under a second.
 *
 *   clap_probe.exe PLUGIN INPUT OUTPUT REPORT
 *     INPUT  raw little-endian f32 mono samples, played on both channels
 *     OUTPUT raw f32 frames (left, right), INPUT's length rounded up to whole blocks plus the
 *            latency and two blocks of silence
 *     REPORT text: "plugin <id>", "vst3 <category>|<name>", "latency <samples>", then one
 *            "note <sample> <key> <velocity>" per note-on
 * Exit code 0 when every step worked; otherwise a message on stderr says which step failed. */
#include <windows.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clap.h"

#define BLOCK 512
#define MAX_NOTES 4096

static void fail(const char *step) {
    fprintf(stderr, "clap_probe: %s\n", step);
    fflush(stderr);
    exit(1);
}

/* Host side ----------------------------------------------------------------------------------- */
static volatile LONG callback_requested;
static const void *host_get_extension(const clap_host *h, const char *id) { (void)h; (void)id; return NULL; }
static void host_request_restart(const clap_host *h) { (void)h; }
static void host_request_process(const clap_host *h) { (void)h; }
static void host_request_callback(const clap_host *h) { (void)h; InterlockedExchange(&callback_requested, 1); }
static const clap_host host = {
    {1, 2, 2}, NULL, "drumsort clap_probe", "Drumsort tests", "", "0.1",
    host_get_extension, host_request_restart, host_request_process, host_request_callback,
};

static uint32_t no_events_size(const clap_input_events *l) { (void)l; return 0; }
static const clap_event_header *no_events_get(const clap_input_events *l, uint32_t i) { (void)l; (void)i; return NULL; }
static const clap_input_events no_events = {NULL, no_events_size, no_events_get};

/* Note-ons of the current block, (time in block, key, velocity). */
typedef struct { uint32_t time; int key; double velocity; } note;
static note block_notes[MAX_NOTES];
static uint32_t block_note_count;
static bool keep_note(const clap_output_events *l, const clap_event_header *e) {
    (void)l;
    if (e->space_id != 0 || block_note_count >= MAX_NOTES) return true;
    if (e->type == CLAP_EVENT_NOTE_ON) {
        const clap_event_note *n = (const clap_event_note *)e;
        block_notes[block_note_count++] = (note){e->time, n->key, n->velocity};
    } else if (e->type == CLAP_EVENT_MIDI) {
        const clap_event_midi *m = (const clap_event_midi *)e;
        if ((m->data[0] & 0xF0) == 0x90 && m->data[2] > 0)
            block_notes[block_note_count++] = (note){e->time, m->data[1], m->data[2] / 127.0};
    }
    return true;
}
static const clap_output_events note_sink = {NULL, keep_note};

/* The audio thread --------------------------------------------------------------------------- */
typedef struct {
    const clap_plugin *plugin;
    const float *input;
    uint32_t frames;
    FILE *output, *report;
    const char *error;
} run;

static DWORD WINAPI audio_thread(LPVOID arg) {
    run *r = arg;
    static float in_l[BLOCK], in_r[BLOCK], out_l[BLOCK], out_r[BLOCK];
    float *ins[2] = {in_l, in_r}, *outs[2] = {out_l, out_r};
    if (!r->plugin->start_processing(r->plugin)) { r->error = "start_processing failed"; return 1; }
    for (uint32_t start = 0; start < r->frames; start += BLOCK) {
        memcpy(in_l, r->input + start, sizeof in_l);
        memcpy(in_r, r->input + start, sizeof in_r);
        memset(out_l, 0, sizeof out_l);
        memset(out_r, 0, sizeof out_r);
        clap_audio_buffer in = {ins, NULL, 2, 0, 0}, out = {outs, NULL, 2, 0, 0};
        clap_process p = {start, BLOCK, NULL, &in, &out, 1, 1, &no_events, &note_sink};
        block_note_count = 0;
        if (r->plugin->process(r->plugin, &p) == CLAP_PROCESS_ERROR) { r->error = "process returned an error"; break; }
        for (uint32_t i = 0; i < BLOCK; i++) {
            float frame[2] = {out_l[i], out_r[i]};
            fwrite(frame, sizeof frame, 1, r->output);
        }
        for (uint32_t n = 0; n < block_note_count; n++)
            fprintf(r->report, "note %u %d %.6f\n", start + block_notes[n].time, block_notes[n].key, block_notes[n].velocity);
    }
    r->plugin->stop_processing(r->plugin);
    return 0;
}

static void list_vst3_classes(HMODULE dll, FILE *report) {
    IPluginFactory *(*get_factory)(void) = (IPluginFactory * (*)(void))(void *)GetProcAddress(dll, "GetPluginFactory");
    if (!get_factory) fail("the DLL exports no GetPluginFactory (VST3)");
    IPluginFactory *factory = get_factory();
    if (!factory) fail("GetPluginFactory returned null");
    int32_t count = factory->vtbl->countClasses(factory);
    for (int32_t i = 0; i < count; i++) {
        PClassInfo info;
        memset(&info, 0, sizeof info);
        if (factory->vtbl->getClassInfo(factory, i, &info) == 0)
            fprintf(report, "vst3 %.32s|%.64s\n", info.category, info.name);
    }
    factory->vtbl->release(factory);
}

int main(int argc, char **argv) {
    if (argc != 5) fail("usage: clap_probe PLUGIN INPUT OUTPUT REPORT");
    FILE *in_file = fopen(argv[2], "rb");
    if (!in_file) fail("cannot open INPUT");
    fseek(in_file, 0, SEEK_END);
    long bytes = ftell(in_file);
    fseek(in_file, 0, SEEK_SET);
    uint32_t samples = (uint32_t)(bytes / sizeof(float));
    FILE *output = fopen(argv[3], "wb"), *report = fopen(argv[4], "w");
    if (!output || !report) fail("cannot create OUTPUT or REPORT");

    HMODULE dll = LoadLibraryA(argv[1]);
    if (!dll) { fprintf(stderr, "LoadLibrary error %lu\n", GetLastError()); fail("cannot load the plugin DLL"); }
    list_vst3_classes(dll, report);
    const clap_plugin_entry *entry = (const clap_plugin_entry *)GetProcAddress(dll, "clap_entry");
    if (!entry) fail("the DLL exports no clap_entry");
    if (!entry->init(argv[1])) fail("clap_entry.init failed");
    const clap_plugin_factory *factory = entry->get_factory("clap.plugin-factory");
    if (!factory || factory->get_plugin_count(factory) < 1) fail("no CLAP plugin factory or no plugin in it");
    const clap_plugin_descriptor *desc = factory->get_plugin_descriptor(factory, 0);
    fprintf(report, "plugin %s\n", desc->id);
    const clap_plugin *plugin = factory->create_plugin(factory, &host, desc->id);
    if (!plugin || !plugin->init(plugin)) fail("create_plugin or plugin.init failed");
    const clap_plugin_render *render = plugin->get_extension(plugin, "clap.render");
    if (!render || !render->set(plugin, CLAP_RENDER_OFFLINE)) fail("the render extension did not take offline mode");
    if (!plugin->activate(plugin, 48000.0, 1, BLOCK)) fail("activate failed");
    const clap_plugin_latency *latency_ext = plugin->get_extension(plugin, "clap.latency");
    if (!latency_ext) fail("the plugin has no latency extension");
    uint32_t latency = latency_ext->get(plugin);
    fprintf(report, "latency %u\n", latency);

    /* Whole blocks: the input, then the latency and two blocks of silence to flush the delay. */
    uint32_t frames = samples + latency + 2 * BLOCK;
    frames = (frames + BLOCK - 1) / BLOCK * BLOCK;
    float *input = calloc(frames, sizeof(float));
    if (!input || fread(input, sizeof(float), samples, in_file) != samples) fail("cannot read INPUT");
    fclose(in_file);

    run r = {plugin, input, frames, output, report, NULL};
    HANDLE thread = CreateThread(NULL, 0, audio_thread, &r, 0, NULL);
    if (!thread) fail("CreateThread failed");
    while (WaitForSingleObject(thread, 5) == WAIT_TIMEOUT) {
        if (InterlockedExchange(&callback_requested, 0)) plugin->on_main_thread(plugin);
    }
    CloseHandle(thread);
    if (r.error) fail(r.error);
    plugin->deactivate(plugin);
    plugin->destroy(plugin);
    entry->deinit();
    fclose(output);
    fclose(report);
    free(input);
    printf("clap_probe: %u frames, latency %u\n", frames, latency);
    return 0;
}
