/*
 * Sessions: one esp_websocket_client to the peer's wss:// URL, or one
 * esp_http_client keep-alive session to its https:// URL, both verifying the
 * peer with the CA embedded at build time.
 *
 * Rules kept here:
 * - event handlers only record a timestamp, set a state and notify the waiting
 *   task; they never block (the handler scenario's inline mode is the one
 *   deliberate exception, and it lives in its data hook);
 * - a client is stopped and destroyed only from the scenario task, never from
 *   its own handler (that deadlocks: the task would wait for itself; the
 *   component offers esp_websocket_client_destroy_on_exit() for that case).
 */
#include <stdio.h>
#include <string.h>

#include "esp_check.h"
#include "esp_http_client.h"
#include "esp_log.h"
#include "esp_memory_utils.h"
#include "esp_timer.h"
#include "esp_websocket_client.h"
#include "freertos/FreeRTOS.h"
#include "freertos/idf_additions.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

static const char *TAG = "wsb_session";

typedef enum {
    ST_FREE = 0,
    ST_CONNECTING,
    ST_CONNECTED,
    ST_FAILED,
    ST_DISCONNECTED,
} state_t;

struct wsb_session {
    int idx;
    wsb_session_kind_t kind;
    volatile state_t state;
    char label[16];     /* "ws", "ws[3]", "https[2]" (as the virtual board names them) */
    char task_name[16]; /* websocket task name (config.task_name is kept as a pointer, not copied) */
    esp_websocket_client_handle_t ws;
    esp_http_client_handle_t http;
    TaskHandle_t waiter; /* task to notify when the connect attempt resolves */
    /* The websocket task and its stack, recorded by the task itself in its
     * first event (BEGIN, or BEFORE_CONNECT on components before 1.3.0).
     * Only compared and reported as addresses: the task deletes itself when
     * the connection ends (disable_auto_reconnect), so the handle may dangle. */
    volatile TaskHandle_t task;
    const void *volatile stack;
    int64_t t_start;
    volatile int64_t t_connected;
    volatile int32_t err;
    wsb_data_hook_t hook;
};

/* One slot per session index: 0..WSB_MAX_SESSIONS. Static, so the session
 * bookkeeping never shows up in the heap being measured. */
static wsb_session_t s_pool[WSB_MAX_SESSIONS + 1];
static volatile int s_open;

int wsb_session_open_count(void)
{
    return s_open;
}

static void resolve(wsb_session_t *s, state_t st, int32_t err)
{
    if (s->state != ST_CONNECTING) {
        return;
    }
    s->err = err;
    s->t_connected = esp_timer_get_time();
    s->state = st;
    if (s->waiter) {
        xTaskNotifyGive(s->waiter);
    }
}

/* The error of a DISCONNECTED event: the esp-tls error when the transport
 * failed. esp_websocket_client fills error_handle's esp-tls fields only when
 * error_type is WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT (esp_websocket_client.c,
 * esp_websocket_client_dispatch_event; the event data is not zeroed), and sets
 * that type in esp_websocket_client_abort_connection just before it dispatches
 * DISCONNECTED. The ERROR event that precedes it carries the previous type, so
 * its esp-tls fields are not read here. */
static int32_t disconnect_err(const esp_websocket_event_data_t *d)
{
    if (d && d->error_handle.error_type == WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT &&
        d->error_handle.esp_tls_last_esp_err != ESP_OK) {
        return d->error_handle.esp_tls_last_esp_err;
    }
    return ESP_FAIL;
}

/* Runs in the websocket task. Never blocks: the sampler calls take a mutex
 * the sampler holds only around one uxTaskGetStackHighWaterMark() call. */
static void ws_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    wsb_session_t *s = arg;
    const esp_websocket_event_data_t *d = data;
    switch (id) {
    case WEBSOCKET_EVENT_BEGIN:          /* once, first thing the task does (component >= 1.3.0) */
    case WEBSOCKET_EVENT_BEFORE_CONNECT: /* before each connect (all versions) */
        if (s->task == NULL) {
            s->stack = pxTaskGetStackStart(NULL); /* NULL: the calling task (idf_additions.h) */
            s->task = xTaskGetCurrentTaskHandle();
            if (s->waiter) {
                xTaskNotifyGive(s->waiter);
            }
        }
        break;
    case WEBSOCKET_EVENT_CONNECTED:
        if (s->idx == 0) {
            /* Registered from inside the task, so the handle is valid until
             * the DISCONNECTED / CLOSED / FINISH handler below clears it. */
            wsb_sampler_set_ws_task(xTaskGetCurrentTaskHandle());
        }
        resolve(s, ST_CONNECTED, 0);
        break;
    case WEBSOCKET_EVENT_DISCONNECTED:
    case WEBSOCKET_EVENT_CLOSED:
    case WEBSOCKET_EVENT_FINISH: /* the task is about to delete itself */
        /* With auto-reconnect disabled each of these ends the task
         * (esp_websocket_client_abort_connection sets run = false). */
        wsb_sampler_clear_ws_task(xTaskGetCurrentTaskHandle());
        if (s->state == ST_CONNECTING) {
            resolve(s, ST_FAILED, id == WEBSOCKET_EVENT_DISCONNECTED ? disconnect_err(d) : ESP_FAIL);
        } else if (s->state == ST_CONNECTED) {
            s->state = ST_DISCONNECTED; /* the scenario notices and reports it */
        }
        break;
    case WEBSOCKET_EVENT_DATA:
        /* Text frames only (0x1): pings, pongs and close frames come here too. */
        if (s->hook && d && d->op_code == 0x1 && d->data_len > 0) {
            s->hook(d->data_ptr, d->data_len, esp_timer_get_time());
        }
        break;
    default: /* ERROR: followed by DISCONNECTED, which carries the transport error */
        break;
    }
}

/* Runs in the task calling esp_http_client_perform (the scenario task). */
static esp_err_t http_event(esp_http_client_event_t *e)
{
    wsb_session_t *s = e->user_data;
    if (e->event_id == HTTP_EVENT_ON_CONNECTED) {
        if (s->state == ST_CONNECTING) {
            s->t_connected = esp_timer_get_time();
        } else {
            /* The peer closed the idle connection and perform opened a new one. */
            ESP_LOGW(TAG, "%s: reconnected (new TLS handshake)", s->label);
            wsb_send_event(WSB_EV_SESSION_CONNECTED, (int16_t)s->idx, 0, 0, 0, s->label, 0);
        }
    }
    return ESP_OK;
}

static void fail_event(wsb_session_t *s, int32_t err)
{
    uint32_t dur = (uint32_t)(esp_timer_get_time() - s->t_start);
    wsb_send_event(WSB_EV_SESSION_FAILED, (int16_t)s->idx, err, dur, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
}

static void connected_event(wsb_session_t *s)
{
    uint32_t dur = (uint32_t)(s->t_connected - s->t_start);
    wsb_send_event(WSB_EV_SESSION_CONNECTED, (int16_t)s->idx, 0, dur, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
    s_open++;
    wsb_sampler_set_sessions((uint8_t)(s_open > 255 ? 255 : s_open));
}

static void release(wsb_session_t *s)
{
    memset(s, 0, sizeof(*s));
}

static bool open_ws(wsb_session_t *s, const char *url, bool *fatal, char *why, size_t why_len)
{
    esp_websocket_client_config_t cfg = {
        .uri = url,
        .cert_pem = wsb_peer_ca_pem_start,
        .task_name = s->task_name,
        .task_stack = CONFIG_WSBENCH_WS_TASK_STACK,
        .task_prio = CONFIG_WSBENCH_WS_TASK_PRIO,
        .buffer_size = CONFIG_WSBENCH_WS_BUFFER_SIZE,
        .disable_auto_reconnect = true,
        .network_timeout_ms = CONFIG_WSBENCH_CONNECT_TIMEOUT_MS,
        .user_context = s,
    };
    s->ws = esp_websocket_client_init(&cfg);
    if (s->ws == NULL) {
        /* With the strict branch this is the PSRAM allocation failing (no fallback). */
        snprintf(why, why_len, "session %d: esp_websocket_client_init returned NULL", s->idx);
        *fatal = true;
        fail_event(s, ESP_ERR_NO_MEM);
        return false;
    }
    wsb_send_event(WSB_EV_CLIENT_CREATED, (int16_t)s->idx, 0, 0, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
    esp_err_t err = esp_websocket_register_events(s->ws, WEBSOCKET_EVENT_ANY, ws_event, s);
    if (err == ESP_OK) {
        s->state = ST_CONNECTING;
        s->t_start = esp_timer_get_time();
        err = esp_websocket_client_start(s->ws);
    }
    if (err != ESP_OK) {
        snprintf(why, why_len, "session %d: esp_websocket_client_start: %s", s->idx, esp_err_to_name(err));
        *fatal = true;
        fail_event(s, err);
        esp_websocket_client_destroy(s->ws);
        wsb_send_event(WSB_EV_CLIENT_DESTROYED, (int16_t)s->idx, 0, 0, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
        return false;
    }
    /* Wait (bounded) for the task's first event, which records its stack,
     * then for the handler to resolve the attempt. */
    TickType_t deadline = xTaskGetTickCount() + pdMS_TO_TICKS(CONFIG_WSBENCH_CONNECT_TIMEOUT_MS);
    while (s->stack == NULL && s->state == ST_CONNECTING && (int32_t)(deadline - xTaskGetTickCount()) > 0) {
        ulTaskNotifyTake(pdTRUE, deadline - xTaskGetTickCount());
    }
    if (s->stack != NULL) {
        wsb_send_event(WSB_EV_TASK_STARTED, (int16_t)s->idx,
                       esp_ptr_external_ram(s->stack) ? WSB_HEAP_SPIRAM : WSB_HEAP_INTERNAL, 0,
                       CONFIG_WSBENCH_WS_TASK_STACK, "websocket_task", CONFIG_WSBENCH_OUT_WAIT_MS);
    }
    while (s->state == ST_CONNECTING && (int32_t)(deadline - xTaskGetTickCount()) > 0) {
        ulTaskNotifyTake(pdTRUE, deadline - xTaskGetTickCount());
    }
    if (s->state == ST_CONNECTED) {
        connected_event(s);
        return true;
    }
    int32_t code = s->state == ST_CONNECTING ? ESP_ERR_TIMEOUT : s->err;
    s->state = ST_FAILED;
    ESP_LOGE(TAG, "%s: connect failed: %s", s->label, esp_err_to_name(code));
    fail_event(s, code);
    wsb_sampler_clear_ws_task(s->task);
    esp_websocket_client_destroy(s->ws); /* stops the task first; we are not in its handler */
    wsb_send_event(WSB_EV_TASK_STOPPED, (int16_t)s->idx, 0, 0, 0, "websocket_task", CONFIG_WSBENCH_OUT_WAIT_MS);
    wsb_send_event(WSB_EV_CLIENT_DESTROYED, (int16_t)s->idx, 0, 0, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
    return false;
}

static esp_err_t http_get(wsb_session_t *s)
{
    esp_err_t err = esp_http_client_perform(s->http);
    if (err == ESP_OK) {
        int status = esp_http_client_get_status_code(s->http);
        if (status != 200) {
            ESP_LOGE(TAG, "%s: HTTP status %d", s->label, status);
            err = ESP_ERR_INVALID_RESPONSE;
        }
    }
    return err;
}

static bool open_https(wsb_session_t *s, const char *url, char *why, size_t why_len)
{
    /* GET the URL as the host gave it, as the virtual board does (the runner
     * adds ?tag=<cell> so the peer counts the cell's sessions). */
    esp_http_client_config_t cfg = {
        .url = url,
        .cert_pem = wsb_peer_ca_pem_start,
        .timeout_ms = CONFIG_WSBENCH_CONNECT_TIMEOUT_MS,
        .event_handler = http_event,
        .user_data = s,
        /* TCP keep-alive probes (esp_http_client_config_t: idle/interval/count,
         * default 5 s / 5 s / 3), which notice a dead peer. HTTP keep-alive
         * itself needs no option: esp_http_client reuses the connection for
         * the next perform while the server keeps it open. */
        .keep_alive_enable = true,
    };
    s->state = ST_CONNECTING;
    s->t_start = esp_timer_get_time();
    s->http = esp_http_client_init(&cfg);
    if (s->http == NULL) {
        snprintf(why, why_len, "session %d: esp_http_client_init returned NULL", s->idx);
        fail_event(s, ESP_ERR_NO_MEM);
        return false;
    }
    esp_err_t err = http_get(s);
    if (err != ESP_OK || s->t_connected == 0) {
        ESP_LOGE(TAG, "%s: %s", s->label, esp_err_to_name(err));
        fail_event(s, err != ESP_OK ? err : ESP_FAIL);
        esp_http_client_cleanup(s->http);
        return false;
    }
    s->state = ST_CONNECTED;
    connected_event(s);
    return true;
}

wsb_session_t *wsb_session_open(int idx, wsb_session_kind_t kind, const char *url, wsb_data_hook_t hook,
                                bool *fatal, char *why, size_t why_len)
{
    *fatal = false;
    why[0] = 0;
    if (idx < 0 || idx > WSB_MAX_SESSIONS || s_pool[idx].state != ST_FREE) {
        snprintf(why, why_len, "session %d: index in use or out of range", idx);
        *fatal = true;
        return NULL;
    }
    wsb_session_t *s = &s_pool[idx];
    s->idx = idx;
    s->kind = kind;
    s->hook = hook;
    s->waiter = xTaskGetCurrentTaskHandle();
    s->t_start = esp_timer_get_time();
    if (kind == WSB_SESSION_WS) {
        snprintf(s->label, sizeof(s->label), idx == 0 ? "ws" : "ws[%d]", idx);
        snprintf(s->task_name, sizeof(s->task_name), idx == 0 ? "websocket_task" : "ws_task%d", idx);
    } else {
        snprintf(s->label, sizeof(s->label), "https[%d]", idx);
    }
    bool ok = kind == WSB_SESSION_WS ? open_ws(s, url, fatal, why, why_len) : open_https(s, url, why, why_len);
    if (!ok) {
        release(s);
        return NULL;
    }
    return s;
}

void wsb_session_keepalive(wsb_session_t *s)
{
    if (s == NULL || s->kind != WSB_SESSION_HTTPS) {
        return;
    }
    esp_err_t err = http_get(s);
    if (err != ESP_OK) {
        ESP_LOGW(TAG, "%s: keep-alive request: %s", s->label, esp_err_to_name(err));
    }
}

esp_err_t wsb_session_send_text(wsb_session_t *s, const char *text, uint32_t timeout_ms)
{
    ESP_RETURN_ON_FALSE(s && s->kind == WSB_SESSION_WS && s->state == ST_CONNECTED, ESP_ERR_INVALID_STATE, TAG,
                        "not a connected websocket session");
    int n = esp_websocket_client_send_text(s->ws, text, (int)strlen(text), pdMS_TO_TICKS(timeout_ms));
    return n < 0 ? ESP_FAIL : ESP_OK;
}

void wsb_session_close(wsb_session_t *s)
{
    if (s == NULL) {
        return;
    }
    if (s->kind == WSB_SESSION_WS) {
        wsb_sampler_clear_ws_task(s->task); /* before the task goes away */
        if (esp_websocket_client_is_connected(s->ws)) {
            (void)esp_websocket_client_close(s->ws, pdMS_TO_TICKS(2000));
        }
        esp_websocket_client_destroy(s->ws);
        wsb_send_event(WSB_EV_SESSION_CLOSED, (int16_t)s->idx, 0, 0, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
        wsb_send_event(WSB_EV_TASK_STOPPED, (int16_t)s->idx, 0, 0, 0, "websocket_task", CONFIG_WSBENCH_OUT_WAIT_MS);
        wsb_send_event(WSB_EV_CLIENT_DESTROYED, (int16_t)s->idx, 0, 0, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
    } else {
        esp_http_client_close(s->http);
        esp_http_client_cleanup(s->http);
        wsb_send_event(WSB_EV_SESSION_CLOSED, (int16_t)s->idx, 0, 0, 0, s->label, CONFIG_WSBENCH_OUT_WAIT_MS);
    }
    if (s_open > 0) {
        s_open--;
    }
    wsb_sampler_set_sessions((uint8_t)s_open);
    release(s);
}

bool wsb_session_dropped(const wsb_session_t *s)
{
    return s && s->state == ST_DISCONNECTED;
}
