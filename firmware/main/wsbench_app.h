/*
 * wsbench firmware: interfaces between the modules of main/.
 *
 *   wsbench_out      console transport: frames into a ring, one writer task
 *   wsbench_sampler  periodic Sample / HeapDetail
 *   wsbench_console  line commands -> Reply
 *   wsbench_net      Wi-Fi station
 *   wsbench_session  one websocket client or one HTTPS keep-alive session
 *   wsbench_scenario sweep, churn, handler
 *   wsbench_hello    the Hello message
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "wsbench_wire.h"

/* ---- wsbench_out.c ---- */

/* Install the console driver (UART or USB-Serial-JTAG, whichever the console
 * uses), create the output ring and start the writer task. */
esp_err_t wsb_out_init(void);

/* Queue one complete frame. wait_ms bounds the wait for ring space; 0 never
 * blocks (samples, event handlers). Returns false when the frame was dropped. */
bool wsb_out_frame(const void *frame, size_t len, uint32_t wait_ms);

/* Read console bytes (blocking up to timeout_ms); returns the count, 0 on timeout. */
int wsb_out_read(uint8_t *buf, size_t len, uint32_t timeout_ms);

/* Wait (bounded) until queued frames have left the chip, e.g. before esp_restart. */
void wsb_out_flush(uint32_t timeout_ms);

/* Bytes of the output ring (reported in Hello as part of sampler_buffers). */
size_t wsb_out_ring_bytes(void);

/* Frames other than samples dropped since boot. */
uint32_t wsb_out_dropped_other(void);

/* Framing helpers: encode into a buffer of the caller or a locked static one,
 * then queue. Messages longer than an Event use the shared buffer. */
bool wsb_send_event(uint8_t kind, int16_t session, int32_t err, uint32_t dur_us, uint32_t size, const char *name,
                    uint32_t wait_ms);
bool wsb_send_reply(wsb_str_t cmd, const char *err);
bool wsb_send_hello(void);
bool wsb_send_run_start(const wsb_run_params_t *p, uint64_t t_us);
bool wsb_send_run_end(const wsb_run_end_t *e);
bool wsb_send_owners(uint32_t seq, uint8_t phase);

/* ---- wsbench_sampler.c ---- */

esp_err_t wsb_sampler_start(void);
/* Begin sampling a run at period_ms with a HeapDetail every detail_every samples. */
void wsb_sampler_run_begin(uint32_t period_ms, uint16_t detail_every);
/* End the run's sampling; returns samples sent and dropped during it. */
void wsb_sampler_run_end(uint32_t *sent, uint32_t *dropped);
/* Take a sample with its HeapDetail now (phase change); returns its seq. */
uint32_t wsb_sampler_force(void);
/* Scenario state the samples report. */
void wsb_sampler_set_phase(uint8_t phase);
uint8_t wsb_sampler_phase(void);
void wsb_sampler_set_sessions(uint8_t open);
/* The websocket task whose stack high-water mark the samples report. Set by
 * the task itself (its CONNECTED handler); cleared, only if it is still the
 * registered one, by its DISCONNECTED / CLOSED / FINISH handler (the task
 * deletes itself next) and by the scenario before stop/destroy. Both wait at
 * most for one stack scan of the sampler. */
void wsb_sampler_set_ws_task(TaskHandle_t task);
void wsb_sampler_clear_ws_task(TaskHandle_t task);
size_t wsb_sampler_buffer_bytes(void);

/* ---- wsbench_net.c ---- */

esp_err_t wsb_net_init(void);
/* Connect with these credentials (from the "wifi" command). The caller wipes them. */
esp_err_t wsb_net_set_credentials(wsb_str_t ssid, wsb_str_t pass);
/* Wait for an IP address. */
bool wsb_net_wait_up(uint32_t timeout_ms);

/* ---- wsbench_scenario.c ---- */

esp_err_t wsb_scenario_init(void);
/* Check p; when it can run, copy it, send the "run" Reply and start the run
 * in the scenario task (so the Reply precedes RunStart) and return NULL.
 * Otherwise return the error text for the Reply. */
const char *wsb_scenario_start(const wsb_run_params_t *p);
/* Abort the run in progress: RunEnd with status "aborted". */
const char *wsb_scenario_stop(void);
bool wsb_scenario_running(void);
/* Events sent during the current run. */
void wsb_scenario_count_event(void);

/* ---- wsbench_console.c ---- */

esp_err_t wsb_console_start(void);

/* ---- wsbench_hello.c ---- */

/* Fill h (strings point to static storage). */
void wsb_hello_fill(wsb_hello_t *h);

/* ---- wsbench_session.c ---- */

typedef enum {
    WSB_SESSION_WS,
    WSB_SESSION_HTTPS,
} wsb_session_kind_t;

typedef struct wsb_session wsb_session_t;

/* Handler hook for the websocket DATA event of the handler scenario. Runs in
 * the websocket task: it must not block unless it is the inline mode's
 * deliberate work. */
typedef void (*wsb_data_hook_t)(const char *data, int len, int64_t t_recv_us);

/* Open session idx to url (wss:// or https://); sends ClientCreated,
 * SessionConnected / SessionFailed. Returns NULL on failure; *fatal tells
 * whether the failure ends the run (init/start refused: placement). */
wsb_session_t *wsb_session_open(int idx, wsb_session_kind_t kind, const char *url, wsb_data_hook_t hook,
                                bool *fatal, char *why, size_t why_len);
/* Keep an HTTPS session alive (a small GET); no-op for websocket sessions. */
void wsb_session_keepalive(wsb_session_t *s);
/* Send text on a websocket session. */
esp_err_t wsb_session_send_text(wsb_session_t *s, const char *text, uint32_t timeout_ms);
/* True when a websocket session lost its connection after connecting. */
bool wsb_session_dropped(const wsb_session_t *s);
/* Close and free a session; sends SessionClosed (and ClientDestroyed). */
void wsb_session_close(wsb_session_t *s);
/* Sessions open now. */
int wsb_session_open_count(void);

/* The peer CA embedded at build time. */
extern const char wsb_peer_ca_pem_start[] asm("_binary_peer_ca_pem_start");
extern const char wsb_peer_ca_pem_end[] asm("_binary_peer_ca_pem_end");
