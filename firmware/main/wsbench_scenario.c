/*
 * Scenarios, with the commands, parameters, phases and events of the virtual
 * board (sim/run.go, sim/handler.go):
 *
 *   sweep    baseline; ramp: session 0 = websocket client (when ws_url is
 *            given), sessions 1..n-1 = HTTPS keep-alive; steady window; teardown
 *   churn    baseline; n sessions held; `cycles` times: create, connect, hold,
 *            close and destroy the websocket client; teardown
 *   handler  one websocket session; a message every event_ms, echoed by the
 *            peer; work_ms of CPU work per echo, either inline in the
 *            websocket event handler (blocks on purpose: starves IDLE and
 *            trips the task watchdog) or queued to a lower-priority worker
 *            through a FreeRTOS queue that carries data, not pointers
 *
 * Between sessions the scenario settles for max(2 sample periods, 300 ms).
 */
#include <stdio.h>
#include <string.h>

#include "esp_check.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "freertos/queue.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

static const char *TAG = "wsb_scenario";

#define STOP_BIT BIT0
#define GO_BIT BIT1
#define WORKER_DONE_BIT BIT2

static EventGroupHandle_t s_ev;
static TaskHandle_t s_task;
static volatile bool s_running;
static uint32_t s_events;

/* The run's parameters, deep-copied out of the console's command buffer. */
static wsb_run_params_t s_p;
static char s_strings[WSB_MAX_COMMAND_LINE + 16];

static wsb_session_t *s_sessions[WSB_MAX_SESSIONS + 1];
static char s_failed[128]; /* non-empty: the run failed with this text */

/* ---- Handler scenario state ---- */

typedef struct {
    int64_t t_sent_us; /* when the scenario sent the message the event answers */
    uint32_t k;        /* event index; UINT32_MAX asks the worker to exit */
    uint32_t reserved;
} work_item_t; /* 16 bytes, copied into the queue by value */

static QueueHandle_t s_work_q;
static bool s_inline;
static uint32_t s_work_ms;

void wsb_scenario_count_event(void)
{
    if (s_running) {
        __atomic_fetch_add(&s_events, 1, __ATOMIC_RELAXED);
    }
}

bool wsb_scenario_running(void)
{
    return s_running;
}

/* Wait ms; true when a stop was requested. */
static bool wait_ms(uint32_t ms)
{
    EventBits_t b = xEventGroupWaitBits(s_ev, STOP_BIT, pdFALSE, pdFALSE, pdMS_TO_TICKS(ms));
    return (b & STOP_BIT) != 0;
}

static bool stopped(void)
{
    return (xEventGroupGetBits(s_ev) & STOP_BIT) != 0;
}

static uint32_t gap_ms(void)
{
    uint32_t g = 2 * s_p.period_ms;
    return g < 300 ? 300 : g;
}

static void set_phase(uint8_t phase)
{
    wsb_sampler_set_phase(phase);
    wsb_send_event(WSB_EV_PHASE, -1, 0, 0, 0, wsb_phase_name(phase), CONFIG_WSBENCH_OUT_WAIT_MS);
    (void)wsb_sampler_force(); /* a Sample with its HeapDetail at every phase change */
}

/* The first failure ends the run with status "failed" and this text. */
static void fail(const char *why)
{
    if (s_failed[0] == 0) {
        snprintf(s_failed, sizeof(s_failed), "%s", why);
        ESP_LOGE(TAG, "%s", s_failed);
    }
}

static wsb_session_t *open_session(int idx, wsb_session_kind_t kind, const char *url, wsb_data_hook_t hook)
{
    bool fatal = false;
    char why[96];
    wsb_session_t *s = wsb_session_open(idx, kind, url, hook, &fatal, why, sizeof(why));
    if (s == NULL && fatal) {
        fail(why);
    }
    if (s) {
        s_sessions[idx] = s;
    }
    return s;
}

static void close_session(int idx)
{
    if (s_sessions[idx]) {
        wsb_session_close(s_sessions[idx]);
        s_sessions[idx] = NULL;
    }
}

/* Wait ms while keeping HTTPS sessions alive; true when stopped. */
static bool hold(uint32_t ms)
{
    const uint32_t every = CONFIG_WSBENCH_HTTPS_KEEPALIVE_S * 1000u;
    while (ms > 0) {
        uint32_t step = ms < every ? ms : every;
        if (wait_ms(step)) {
            return true;
        }
        ms -= step;
        if (ms > 0) {
            for (int i = 0; i <= WSB_MAX_SESSIONS; i++) {
                wsb_session_keepalive(s_sessions[i]);
            }
        }
    }
    return false;
}

static const char *url_of(bool ws)
{
    return ws ? s_p.ws_url.ptr : s_p.https_url.ptr;
}

static void sweep(void)
{
    set_phase(WSB_PHASE_BASELINE);
    if (wait_ms(s_p.baseline_ms)) {
        return;
    }
    set_phase(WSB_PHASE_RAMP);
    for (int i = 0; i < s_p.n; i++) {
        /* With both URLs session 0 is the websocket client; with one, all use it. */
        bool ws = s_p.ws_url.len > 0 && (i == 0 || s_p.https_url.len == 0);
        open_session(i, ws ? WSB_SESSION_WS : WSB_SESSION_HTTPS, url_of(ws), NULL);
        if (s_failed[0] || wait_ms(gap_ms())) {
            return;
        }
    }
    set_phase(WSB_PHASE_STEADY);
    if (hold(s_p.window_ms)) {
        return;
    }
    set_phase(WSB_PHASE_TEARDOWN);
}

static void churn(void)
{
    set_phase(WSB_PHASE_BASELINE);
    if (wait_ms(s_p.baseline_ms)) {
        return;
    }
    if (s_p.n > 0) {
        set_phase(WSB_PHASE_RAMP);
        for (int i = 1; i <= s_p.n; i++) {
            bool ws = s_p.https_url.len == 0;
            open_session(i, ws ? WSB_SESSION_WS : WSB_SESSION_HTTPS, url_of(ws), NULL);
            if (s_failed[0] || wait_ms(gap_ms())) {
                return;
            }
        }
    }
    set_phase(WSB_PHASE_CHURN);
    for (uint32_t c = 0; c < s_p.cycles; c++) {
        open_session(0, WSB_SESSION_WS, s_p.ws_url.ptr, NULL);
        if (s_failed[0]) {
            return;
        }
        /* Hold the connection for one settle gap, then stop and destroy it. */
        if (hold(gap_ms())) {
            return; /* still in s_sessions: closed by the common teardown */
        }
        close_session(0);
        wsb_send_event(WSB_EV_CYCLE_END, 0, 0, 0, c, "", CONFIG_WSBENCH_OUT_WAIT_MS);
        if (wait_ms(gap_ms())) {
            return;
        }
    }
    set_phase(WSB_PHASE_TEARDOWN);
}

/* CPU work that does not yield: what a heavy event handler does. */
static void busy_ms(uint32_t ms)
{
    int64_t until = esp_timer_get_time() + (int64_t)ms * 1000;
    while (esp_timer_get_time() < until) {
    }
}

static bool parse_u64(const char **p, const char *end, uint64_t *v)
{
    const char *q = *p;
    uint64_t x = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        x = x * 10 + (uint64_t)(*q - '0');
        q++;
    }
    if (q == *p) {
        return false;
    }
    *p = q;
    *v = x;
    return true;
}

/* "wsbench event <k> <t_sent_us>" as the scenario sends it. */
static bool parse_echo(const char *data, int len, work_item_t *item)
{
    static const char prefix[] = "wsbench event ";
    const char *p = data, *end = data + len;
    uint64_t k, t;
    if (len < (int)sizeof(prefix) || memcmp(data, prefix, sizeof(prefix) - 1) != 0) {
        return false;
    }
    p += sizeof(prefix) - 1;
    if (!parse_u64(&p, end, &k) || p >= end || *p++ != ' ' || !parse_u64(&p, end, &t)) {
        return false;
    }
    item->k = (uint32_t)k;
    item->t_sent_us = (int64_t)t;
    item->reserved = 0;
    return true;
}

/* WEBSOCKET_EVENT_DATA hook, in the websocket task. */
static void on_echo(const char *data, int len, int64_t t_recv_us)
{
    (void)t_recv_us;
    work_item_t item;
    if (!parse_echo(data, len, &item)) {
        return;
    }
    if (s_inline) {
        /* Deliberately blocking: the whole point of the inline mode. */
        busy_ms(s_work_ms);
        uint32_t lat = (uint32_t)(esp_timer_get_time() - item.t_sent_us);
        wsb_send_event(WSB_EV_HANDLER_LATENCY, 0, 0, lat, 0, "", 0);
        return;
    }
    /* Queued: copy the data into the queue and return at once. The queue is
     * created after the session connects, before the first message is sent;
     * an echo can only answer a sent message, but never hand xQueueSend NULL. */
    if (s_work_q == NULL) {
        return;
    }
    if (xQueueSend(s_work_q, &item, 0) != pdTRUE) {
        uint32_t lat = (uint32_t)(esp_timer_get_time() - item.t_sent_us);
        wsb_send_event(WSB_EV_HANDLER_LATENCY, 0, ESP_ERR_TIMEOUT, lat, 0, "", 0);
    }
}

static void worker_task(void *arg)
{
    (void)arg;
    work_item_t item;
    for (;;) {
        if (xQueueReceive(s_work_q, &item, portMAX_DELAY) != pdTRUE) {
            continue;
        }
        if (item.k == UINT32_MAX) {
            break;
        }
        /* Work in slices, yielding between them so IDLE runs and the task
         * watchdog stays fed. */
        for (uint32_t done = 0; done < s_work_ms; done += CONFIG_WSBENCH_WORKER_SLICE_MS) {
            uint32_t slice = s_work_ms - done;
            busy_ms(slice < CONFIG_WSBENCH_WORKER_SLICE_MS ? slice : CONFIG_WSBENCH_WORKER_SLICE_MS);
            vTaskDelay(1);
        }
        uint32_t lat = (uint32_t)(esp_timer_get_time() - item.t_sent_us);
        wsb_send_event(WSB_EV_HANDLER_LATENCY, 0, 0, lat, 0, "", CONFIG_WSBENCH_OUT_WAIT_MS);
    }
    xEventGroupSetBits(s_ev, WORKER_DONE_BIT);
    vTaskDelete(NULL);
}

static void handler(void)
{
    s_inline = wsb_str_eq(s_p.handler, WSB_HANDLER_INLINE);
    s_work_ms = s_p.work_ms;
    set_phase(WSB_PHASE_BASELINE);
    if (wait_ms(s_p.baseline_ms)) {
        return;
    }
    set_phase(WSB_PHASE_RAMP);
    wsb_session_t *s = open_session(0, WSB_SESSION_WS, s_p.ws_url.ptr, on_echo);
    if (s == NULL) {
        fail("handler: the websocket session did not connect");
        return;
    }
    TaskHandle_t worker = NULL;
    if (!s_inline) {
        s_work_q = xQueueCreate(CONFIG_WSBENCH_WORKER_QUEUE_LEN, sizeof(work_item_t));
        xEventGroupClearBits(s_ev, WORKER_DONE_BIT);
        if (s_work_q == NULL || xTaskCreate(worker_task, "wsb_worker", CONFIG_WSBENCH_WORKER_STACK, NULL,
                                            CONFIG_WSBENCH_WORKER_PRIO, &worker) != pdPASS) {
            fail("handler: cannot create the worker task: out of memory (ESP_ERR_NO_MEM)");
            if (s_work_q) {
                vQueueDelete(s_work_q);
                s_work_q = NULL;
            }
            return;
        }
        wsb_send_event(WSB_EV_TASK_STARTED, -1, WSB_HEAP_INTERNAL, 0, CONFIG_WSBENCH_WORKER_STACK, "worker",
                       CONFIG_WSBENCH_OUT_WAIT_MS);
    }
    set_phase(WSB_PHASE_HANDLER);
    const int64_t start = esp_timer_get_time();
    const int64_t end = start + (int64_t)s_p.window_ms * 1000;
    const int64_t every = (int64_t)s_p.event_ms * 1000;
    char msg[48];
    for (uint32_t k = 0;; k++) {
        int64_t t = start + (int64_t)k * every;
        if (t >= end) {
            break;
        }
        int64_t now = esp_timer_get_time();
        if (t > now && wait_ms((uint32_t)((t - now + 999) / 1000))) {
            break;
        }
        if (wsb_session_dropped(s)) {
            fail("handler: the websocket session dropped");
            wsb_send_event(WSB_EV_SESSION_FAILED, 0, ESP_FAIL, 0, 0, "ws", CONFIG_WSBENCH_OUT_WAIT_MS);
            break;
        }
        snprintf(msg, sizeof(msg), "wsbench event %lu %lld", (unsigned long)k, (long long)esp_timer_get_time());
        if (wsb_session_send_text(s, msg, s_p.event_ms) != ESP_OK) {
            ESP_LOGW(TAG, "handler: event %lu not sent within %lu ms", (unsigned long)k, (unsigned long)s_p.event_ms);
        }
    }
    int64_t now = esp_timer_get_time();
    if (!stopped() && end > now) {
        (void)wait_ms((uint32_t)((end - now) / 1000));
    }
    if (!stopped()) {
        set_phase(WSB_PHASE_TEARDOWN);
    }
    /* Close the session first so no more echoes reach the queue. */
    close_session(0);
    if (worker) {
        /* Work still queued at the end of the window is dropped, as on the
         * virtual board; the worker finishes the item it is on. */
        UBaseType_t unfinished = uxQueueMessagesWaiting(s_work_q);
        xQueueReset(s_work_q);
        if (unfinished > 0) {
            ESP_LOGW(TAG, "handler: %u events unfinished at the end of the window", (unsigned)unfinished);
        }
        work_item_t quit = {.k = UINT32_MAX};
        xQueueSend(s_work_q, &quit, portMAX_DELAY);
        xEventGroupWaitBits(s_ev, WORKER_DONE_BIT, pdTRUE, pdTRUE, portMAX_DELAY);
        vQueueDelete(s_work_q);
        s_work_q = NULL;
        wsb_send_event(WSB_EV_TASK_STOPPED, -1, 0, 0, 0, "worker", CONFIG_WSBENCH_OUT_WAIT_MS);
    }
}

static void run_one(void)
{
    s_events = 0;
    s_failed[0] = 0;
    memset(s_sessions, 0, sizeof(s_sessions));
    ESP_LOGI(TAG, "run %.*s: scenario %.*s n=%u period_ms=%lu", (int)s_p.cell.len, s_p.cell.ptr ? s_p.cell.ptr : "",
             (int)s_p.scenario.len, s_p.scenario.ptr, s_p.n, (unsigned long)s_p.period_ms);
    wsb_sampler_run_begin(s_p.period_ms, s_p.detail_every);
    wsb_send_run_start(&s_p, (uint64_t)esp_timer_get_time());

    if (wsb_str_eq(s_p.scenario, WSB_SCENARIO_SWEEP)) {
        sweep();
    } else if (wsb_str_eq(s_p.scenario, WSB_SCENARIO_CHURN)) {
        churn();
    } else {
        handler();
    }

    /* Teardown of whatever is still open, also after stop (not interruptible). */
    bool any = false;
    for (int i = WSB_MAX_SESSIONS; i >= 0; i--) {
        if (s_sessions[i]) {
            if (!any && wsb_sampler_phase() != WSB_PHASE_TEARDOWN) {
                set_phase(WSB_PHASE_TEARDOWN);
            }
            any = true;
            close_session(i);
            vTaskDelay(pdMS_TO_TICKS(gap_ms()));
        }
    }
    set_phase(WSB_PHASE_DONE);

    wsb_run_end_t end = {.cell = s_p.cell, .status = wsb_cstr("ok")};
    if (stopped()) {
        end.status = wsb_cstr("aborted");
        end.err = wsb_cstr("stopped by command");
    } else if (s_failed[0]) {
        end.status = wsb_cstr("failed");
        end.err = wsb_cstr(s_failed);
    }
    /* Let the DONE sample leave the sampler before its counters are read. */
    vTaskDelay(pdMS_TO_TICKS(20));
    wsb_sampler_run_end(&end.samples_sent, &end.samples_dropped);
    end.events = s_events;
    end.t_us = (uint64_t)esp_timer_get_time();
    ESP_LOGI(TAG, "run %.*s: %.*s %.*s", (int)end.cell.len, end.cell.ptr ? end.cell.ptr : "", (int)end.status.len,
             end.status.ptr, (int)end.err.len, end.err.ptr ? end.err.ptr : "");
    wsb_sampler_set_phase(WSB_PHASE_IDLE);
    s_running = false;
    wsb_send_run_end(&end);
}

static void scenario_task(void *arg)
{
    (void)arg;
    for (;;) {
        xEventGroupWaitBits(s_ev, GO_BIT, pdTRUE, pdTRUE, portMAX_DELAY);
        run_one();
    }
}

esp_err_t wsb_scenario_init(void)
{
    s_ev = xEventGroupCreate();
    ESP_RETURN_ON_FALSE(s_ev, ESP_ERR_NO_MEM, TAG, "event group");
    BaseType_t ok = xTaskCreate(scenario_task, "wsb_scenario", CONFIG_WSBENCH_SCENARIO_STACK, NULL,
                                CONFIG_WSBENCH_SCENARIO_PRIO, &s_task);
    ESP_RETURN_ON_FALSE(ok == pdPASS, ESP_ERR_NO_MEM, TAG, "scenario task");
    return ESP_OK;
}

/* Copy a string into the run's storage, NUL-terminated. */
static wsb_str_t keep(wsb_str_t v, size_t *used)
{
    wsb_str_t r = {s_strings + *used, v.len};
    if (v.len > 0) {
        memcpy(s_strings + *used, v.ptr, v.len);
    }
    s_strings[*used + v.len] = 0;
    *used += v.len + 1;
    return r;
}

static bool has_prefix(wsb_str_t s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len > n && memcmp(s.ptr, prefix, n) == 0;
}

const char *wsb_scenario_start(const wsb_run_params_t *p)
{
    static char err[96];
    if (s_running) {
        return "run: a run is already in progress (send stop first)";
    }
    /* The same checks as the virtual board (sim/run.go checkRun). */
    if (wsb_str_eq(p->scenario, WSB_SCENARIO_SWEEP)) {
        /* n = 0 is the reference point of a sweep: no session, no client, no URL needed. */
        if (p->n > 0 && p->ws_url.len == 0 && p->https_url.len == 0) {
            return "run: sweep needs ws_url or https_url";
        }
    } else if (p->ws_url.len == 0) {
        snprintf(err, sizeof(err), "run: %.*s needs ws_url", (int)p->scenario.len, p->scenario.ptr);
        return err;
    }
    if (p->ws_url.len > 0 && !has_prefix(p->ws_url, "wss://")) {
        snprintf(err, sizeof(err), "run: ws_url: \"%.*s\": want a wss:// URL", (int)(p->ws_url.len > 48 ? 48 : p->ws_url.len),
                 p->ws_url.ptr);
        return err;
    }
    if (p->https_url.len > 0 && !has_prefix(p->https_url, "https://")) {
        snprintf(err, sizeof(err), "run: https_url: \"%.*s\": want a https:// URL",
                 (int)(p->https_url.len > 48 ? 48 : p->https_url.len), p->https_url.ptr);
        return err;
    }
    /* Each session is a socket; keep one for the console-side DNS/other use. */
    if ((int)p->n + 1 > CONFIG_LWIP_MAX_SOCKETS - 1) {
        snprintf(err, sizeof(err), "run: n=%u needs more sockets than CONFIG_LWIP_MAX_SOCKETS=%d allows",
                 (unsigned)p->n, CONFIG_LWIP_MAX_SOCKETS);
        return err;
    }
    if (!wsb_net_wait_up(CONFIG_WSBENCH_NET_WAIT_MS)) {
        return "run: no network (send \"wifi ssid=... pass=...\" or set the SSID in menuconfig)";
    }
    /* Deep copy: p points into the console's line buffer. */
    size_t used = 0;
    s_p = *p;
    s_p.cell = keep(p->cell, &used);
    s_p.scenario = keep(p->scenario, &used);
    s_p.handler = keep(p->handler, &used);
    s_p.ws_url = keep(p->ws_url, &used);
    s_p.https_url = keep(p->https_url, &used);
    s_running = true;
    xEventGroupClearBits(s_ev, STOP_BIT);
    wsb_send_reply(wsb_cstr(WSB_CMD_RUN), NULL);
    xEventGroupSetBits(s_ev, GO_BIT);
    return NULL;
}

const char *wsb_scenario_stop(void)
{
    if (!s_running) {
        return "stop: no run in progress";
    }
    xEventGroupSetBits(s_ev, STOP_BIT);
    return NULL;
}
