/*
 * Sampler task: at the run's period, heap_caps_get_info() of the internal,
 * DMA-capable and PSRAM heaps, the stack high-water mark of the websocket task
 * (bytes on ESP-IDF: StackType_t is one byte wide, facts sheet section 1),
 * esp_timer_get_time(). Each Sample (and every detail_every-th sample a
 * HeapDetail) is framed into the sampler's own static buffers and queued with
 * no wait: when the output ring is full the sample is dropped and counted,
 * the sampler never blocks on the host.
 */
#include <string.h>

#include "esp_check.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

static const char *TAG = "wsb_sampler";

#if CONFIG_WSBENCH_IDLE_SAMPLING
#define IDLE_SAMPLING true
#else
#define IDLE_SAMPLING false
#endif

static TaskHandle_t s_task;
static SemaphoreHandle_t s_lock; /* guards the fields below */
static bool s_active;
static uint32_t s_period_ms = CONFIG_WSBENCH_SAMPLE_PERIOD_MS;
static uint16_t s_detail_every;
static uint16_t s_since_detail;
static uint32_t s_seq; /* restarts at 0 on every boot */
static uint32_t s_sent, s_dropped;
static uint32_t s_detail_dropped; /* HeapDetails dropped on a full ring (logged at run end) */
static uint8_t s_phase = WSB_PHASE_IDLE;
static uint8_t s_sessions;
static bool s_force;
/* The websocket task whose stack the samples scan. Its own mutex, held only
 * around one uxTaskGetStackHighWaterMark() call, because the websocket task
 * clears it from its DISCONNECTED/CLOSED/FINISH handler just before it deletes
 * itself: the handler must not wait for a whole sample, and the sampler must
 * never scan the stack of a task that is gone. */
static SemaphoreHandle_t s_ws_lock;
static TaskHandle_t s_ws_task;

/* The sampler's own output buffers (reported in Hello with the ring). */
static uint8_t s_sample_frame[WSB_SAMPLE_FRAME_MAX];
static uint8_t s_detail_frame[WSB_HEAP_DETAIL_FRAME_MAX];

static void heap_info(uint32_t caps, wsb_heap_info_t *out)
{
    multi_heap_info_t i;
    heap_caps_get_info(&i, caps);
    out->free = (uint32_t)i.total_free_bytes;
    out->allocated = (uint32_t)i.total_allocated_bytes;
    out->largest = (uint32_t)i.largest_free_block;
    out->min_free = (uint32_t)i.minimum_free_bytes;
    out->allocated_blocks = (uint32_t)i.allocated_blocks;
    out->free_blocks = (uint32_t)i.free_blocks;
    out->total_blocks = (uint32_t)i.total_blocks;
}

/* Take one sample; called with s_lock held. */
static void take_sample(bool force_detail)
{
    wsb_heap_detail_t d = {.seq = s_seq};
    heap_info(MALLOC_CAP_INTERNAL, &d.internal);
    heap_info(MALLOC_CAP_SPIRAM, &d.spiram);
    int32_t hwm = -1;
    xSemaphoreTake(s_ws_lock, portMAX_DELAY);
    if (s_ws_task != NULL) {
        /* Registered by the task itself and cleared before it exits or is
         * stopped (see s_ws_lock): the task exists while we scan it. */
        hwm = (int32_t)uxTaskGetStackHighWaterMark(s_ws_task);
    }
    xSemaphoreGive(s_ws_lock);
    wsb_sample_t s = {
        .seq = s_seq,
        .t_us = (uint64_t)esp_timer_get_time(),
        .phase = s_phase,
        .sessions = s_sessions,
        .internal_free = d.internal.free,
        .internal_min_free = d.internal.min_free,
        .internal_largest = d.internal.largest,
        .spiram_free = d.spiram.free,
        .spiram_min_free = d.spiram.min_free,
        .spiram_largest = d.spiram.largest,
        .ws_stack_hwm = hwm,
    };
    size_t len = 0;
    if (wsb_frame_sample(s_sample_frame, sizeof(s_sample_frame), &s, &len) != WSB_OK ||
        !wsb_out_frame(s_sample_frame, len, 0)) {
        s_dropped++;
        s_seq++;
        return;
    }
    s_sent++;
    s_since_detail++;
    if (force_detail || (s_detail_every > 0 && s_since_detail >= s_detail_every)) {
        s_since_detail = 0;
        heap_info(MALLOC_CAP_DMA, &d.dma);
        if (wsb_frame_heap_detail(s_detail_frame, sizeof(s_detail_frame), &d, &len) != WSB_OK ||
            !wsb_out_frame(s_detail_frame, len, 0)) {
            s_detail_dropped++;
        }
    }
    s_seq++;
}

static void sampler_task(void *arg)
{
    (void)arg;
    TickType_t next = xTaskGetTickCount();
    for (;;) {
        xSemaphoreTake(s_lock, portMAX_DELAY);
        bool active = s_active || IDLE_SAMPLING;
        TickType_t period = pdMS_TO_TICKS(s_period_ms);
        xSemaphoreGive(s_lock);
        if (period == 0) {
            period = 1;
        }
        TickType_t now = xTaskGetTickCount();
        TickType_t wait = portMAX_DELAY;
        if (active) {
            wait = (TickType_t)(next - now) <= period ? next - now : 0;
        }
        /* A notification is a forced sample (phase change) or a new run. */
        bool notified = ulTaskNotifyTake(pdTRUE, wait) > 0;
        xSemaphoreTake(s_lock, portMAX_DELAY);
        bool forced = s_force;
        s_force = false;
        active = s_active || IDLE_SAMPLING;
        if (forced) {
            take_sample(true);
        } else if (active && !notified) {
            take_sample(false);
            next += period;
            if ((TickType_t)(xTaskGetTickCount() - next) < portMAX_DELAY / 2) {
                /* Fell behind by more than a period (a long stall): resynchronise. */
                next = xTaskGetTickCount() + period;
            }
        } else if (notified) {
            next = xTaskGetTickCount() + pdMS_TO_TICKS(s_period_ms);
        }
        xSemaphoreGive(s_lock);
    }
}

esp_err_t wsb_sampler_start(void)
{
    s_lock = xSemaphoreCreateMutex();
    ESP_RETURN_ON_FALSE(s_lock, ESP_ERR_NO_MEM, TAG, "lock");
    s_ws_lock = xSemaphoreCreateMutex();
    ESP_RETURN_ON_FALSE(s_ws_lock, ESP_ERR_NO_MEM, TAG, "ws task lock");
    BaseType_t ok = xTaskCreate(sampler_task, "wsb_sampler", CONFIG_WSBENCH_SAMPLER_STACK, NULL,
                                CONFIG_WSBENCH_SAMPLER_PRIO, &s_task);
    ESP_RETURN_ON_FALSE(ok == pdPASS, ESP_ERR_NO_MEM, TAG, "sampler task");
    return ESP_OK;
}

void wsb_sampler_run_begin(uint32_t period_ms, uint16_t detail_every)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    s_period_ms = period_ms;
    s_detail_every = detail_every;
    s_since_detail = 0;
    s_sent = 0;
    s_dropped = 0;
    s_detail_dropped = 0;
    s_active = true;
    xSemaphoreGive(s_lock);
    xTaskNotifyGive(s_task);
}

void wsb_sampler_run_end(uint32_t *sent, uint32_t *dropped)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    s_active = false;
    s_period_ms = CONFIG_WSBENCH_SAMPLE_PERIOD_MS;
    *sent = s_sent;
    *dropped = s_dropped;
    uint32_t detail_dropped = s_detail_dropped;
    xSemaphoreGive(s_lock);
    if (detail_dropped > 0) {
        /* RunEnd has no field for them; the log line reaches the raw capture. */
        ESP_LOGW(TAG, "%lu HeapDetail frames dropped on a full output ring", (unsigned long)detail_dropped);
    }
}

uint32_t wsb_sampler_force(void)
{
    /* Sampled in the sampler task, so heap readings come from one place. */
    xSemaphoreTake(s_lock, portMAX_DELAY);
    uint32_t seq = s_seq;
    s_force = true;
    xSemaphoreGive(s_lock);
    xTaskNotifyGive(s_task);
    return seq;
}

void wsb_sampler_set_phase(uint8_t phase)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    s_phase = phase;
    xSemaphoreGive(s_lock);
}

uint8_t wsb_sampler_phase(void)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    uint8_t p = s_phase;
    xSemaphoreGive(s_lock);
    return p;
}

void wsb_sampler_set_sessions(uint8_t open)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    s_sessions = open;
    xSemaphoreGive(s_lock);
}

void wsb_sampler_set_ws_task(TaskHandle_t task)
{
    xSemaphoreTake(s_ws_lock, portMAX_DELAY);
    s_ws_task = task;
    xSemaphoreGive(s_ws_lock);
}

void wsb_sampler_clear_ws_task(TaskHandle_t task)
{
    if (task == NULL) {
        return;
    }
    xSemaphoreTake(s_ws_lock, portMAX_DELAY);
    if (s_ws_task == task) {
        s_ws_task = NULL;
    }
    xSemaphoreGive(s_ws_lock);
}

size_t wsb_sampler_buffer_bytes(void)
{
    return sizeof(s_sample_frame) + sizeof(s_detail_frame) + wsb_out_ring_bytes();
}
