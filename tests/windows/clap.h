/* The few CLAP and VST3 declarations the Windows probes need (the .c files beside it), written from
 * the CLAP 1.2 headers (clap/entry.h, plugin.h, host.h, process.h, events.h, ext/latency.h,
 * ext/render.h, ext/gui.h) and VST3's ipluginbase.h, checked against clap-sys 0.5, so the probes
 * build with mingw-w64 alone in well under a second. */
#ifndef DRUMSORT_TESTS_CLAP_H
#define DRUMSORT_TESTS_CLAP_H

#include <stdbool.h>
#include <stdint.h>

/* ---- CLAP ABI */
typedef struct { uint32_t major, minor, revision; } clap_version;
typedef struct clap_host {
    clap_version clap_version;
    void *host_data;
    const char *name, *vendor, *url, *version;
    const void *(*get_extension)(const struct clap_host *, const char *);
    void (*request_restart)(const struct clap_host *);
    void (*request_process)(const struct clap_host *);
    void (*request_callback)(const struct clap_host *);
} clap_host;
typedef struct {
    clap_version clap_version;
    const char *id, *name, *vendor, *url, *manual_url, *support_url, *version, *description;
    const char *const *features;
} clap_plugin_descriptor;
typedef struct { uint32_t size, time; uint16_t space_id, type; uint32_t flags; } clap_event_header;
typedef struct {
    clap_event_header header;
    int32_t note_id;
    int16_t port_index, channel, key;
    double velocity;
} clap_event_note;
typedef struct { clap_event_header header; uint16_t port_index; uint8_t data[3]; } clap_event_midi;
typedef struct clap_input_events {
    void *ctx;
    uint32_t (*size)(const struct clap_input_events *);
    const clap_event_header *(*get)(const struct clap_input_events *, uint32_t);
} clap_input_events;
typedef struct clap_output_events {
    void *ctx;
    bool (*try_push)(const struct clap_output_events *, const clap_event_header *);
} clap_output_events;
typedef struct {
    float **data32;
    double **data64;
    uint32_t channel_count, latency;
    uint64_t constant_mask;
} clap_audio_buffer;
typedef struct {
    int64_t steady_time;
    uint32_t frames_count;
    const void *transport;
    const clap_audio_buffer *audio_inputs;
    clap_audio_buffer *audio_outputs;
    uint32_t audio_inputs_count, audio_outputs_count;
    const clap_input_events *in_events;
    const clap_output_events *out_events;
} clap_process;
typedef struct clap_plugin {
    const clap_plugin_descriptor *desc;
    void *plugin_data;
    bool (*init)(const struct clap_plugin *);
    void (*destroy)(const struct clap_plugin *);
    bool (*activate)(const struct clap_plugin *, double, uint32_t, uint32_t);
    void (*deactivate)(const struct clap_plugin *);
    bool (*start_processing)(const struct clap_plugin *);
    void (*stop_processing)(const struct clap_plugin *);
    void (*reset)(const struct clap_plugin *);
    int32_t (*process)(const struct clap_plugin *, const clap_process *);
    const void *(*get_extension)(const struct clap_plugin *, const char *);
    void (*on_main_thread)(const struct clap_plugin *);
} clap_plugin;
typedef struct clap_plugin_factory {
    uint32_t (*get_plugin_count)(const struct clap_plugin_factory *);
    const clap_plugin_descriptor *(*get_plugin_descriptor)(const struct clap_plugin_factory *, uint32_t);
    const clap_plugin *(*create_plugin)(const struct clap_plugin_factory *, const clap_host *, const char *);
} clap_plugin_factory;
typedef struct {
    clap_version clap_version;
    bool (*init)(const char *);
    void (*deinit)(void);
    const void *(*get_factory)(const char *);
} clap_plugin_entry;
typedef struct { uint32_t (*get)(const clap_plugin *); } clap_plugin_latency;
typedef struct {
    bool (*has_hard_realtime_requirement)(const clap_plugin *);
    bool (*set)(const clap_plugin *, int32_t);
} clap_plugin_render;
#define CLAP_EVENT_NOTE_ON 0
#define CLAP_EVENT_MIDI 10
#define CLAP_RENDER_OFFLINE 1
#define CLAP_PROCESS_ERROR 0

/* ---- VST3 (pluginterfaces/base/ipluginbase.h): just enough of IPluginFactory to list classes */
typedef struct { char cid[16]; int32_t cardinality; char category[32]; char name[64]; } PClassInfo;
typedef struct IPluginFactory IPluginFactory;
typedef struct {
    int32_t (*queryInterface)(IPluginFactory *, const char *, void **);
    uint32_t (*addRef)(IPluginFactory *);
    uint32_t (*release)(IPluginFactory *);
    int32_t (*getFactoryInfo)(IPluginFactory *, void *);
    int32_t (*countClasses)(IPluginFactory *);
    int32_t (*getClassInfo)(IPluginFactory *, int32_t, PClassInfo *);
} IPluginFactoryVtbl;
struct IPluginFactory { const IPluginFactoryVtbl *vtbl; };

/* ---- ext/gui.h */
typedef struct {
    const char *api;
    union { unsigned long x11; void *cocoa; void *win32; void *ptr; };
} clap_window;
typedef struct {
    bool (*is_api_supported)(const clap_plugin *, const char *api, bool is_floating);
    bool (*get_preferred_api)(const clap_plugin *, const char **api, bool *is_floating);
    bool (*create)(const clap_plugin *, const char *api, bool is_floating);
    void (*destroy)(const clap_plugin *);
    bool (*set_scale)(const clap_plugin *, double scale);
    bool (*get_size)(const clap_plugin *, uint32_t *width, uint32_t *height);
    bool (*can_resize)(const clap_plugin *);
    bool (*get_resize_hints)(const clap_plugin *, void *hints);
    bool (*adjust_size)(const clap_plugin *, uint32_t *width, uint32_t *height);
    bool (*set_size)(const clap_plugin *, uint32_t width, uint32_t height);
    bool (*set_parent)(const clap_plugin *, const clap_window *window);
    bool (*set_transient)(const clap_plugin *, const clap_window *window);
    void (*suggest_title)(const clap_plugin *, const char *title);
    bool (*show)(const clap_plugin *);
    bool (*hide)(const clap_plugin *);
} clap_plugin_gui;

typedef struct {
    void (*resize_hints_changed)(const clap_host *);
    bool (*request_resize)(const clap_host *, uint32_t width, uint32_t height);
    bool (*request_show)(const clap_host *);
    bool (*request_hide)(const clap_host *);
    void (*closed)(const clap_host *, bool was_destroyed);
} clap_host_gui;

#endif
