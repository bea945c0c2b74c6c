/*
 * Console transport. Frames are queued whole into a no-split ring buffer and a
 * writer task writes each with one call that excludes log text for its whole
 * length, so a frame is never interleaved with log text. A full ring drops the
 * frame: the sampler never blocks on the host.
 *
 * UART: frames go through uart_write_bytes(), which holds the driver's TX lock
 * for the whole call; the console VFS is switched to the same driver and writes
 * log text one uart_write_bytes() call per character, so log characters land
 * between frames, never inside one. The driver never rewrites bytes.
 *
 * USB-Serial-JTAG: usb_serial_jtag_write_bytes() has no such lock (it writes
 * the head of a buffer to an idle FIFO under a spinlock, then the rest to a
 * ring; a log character written in between would land inside the frame:
 * esp_driver_usb_serial_jtag src/usb_serial_jtag.c). Frames are therefore
 * written through the USB-Serial-JTAG VFS (/dev/usbserjtag), whose write()
 * holds the same write lock that the console's log output takes for each of
 * its writes (src/usb_serial_jtag_vfs.c). That VFS converts '\n' unless its TX
 * line ending is LF, which the defaults select (checked below).
 */
#include <stdio.h>
#include <string.h>

#include "driver/uart.h"
#include "driver/uart_vfs.h"
#include "esp_check.h"
#include "esp_heap_caps.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/ringbuf.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

#if CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG
#include <fcntl.h>
#include <unistd.h>

#include "driver/usb_serial_jtag.h"
#include "driver/usb_serial_jtag_vfs.h"
#define WSB_CONSOLE_JTAG 1
/* The VFS's TX line ending follows the newlib stdout setting
 * (usb_serial_jtag_vfs.c DEFAULT_TX_MODE); anything but LF rewrites 0x0A. */
#if !CONFIG_NEWLIB_STDOUT_LINE_ENDING_LF
#error "wsbench on USB-Serial-JTAG needs CONFIG_NEWLIB_STDOUT_LINE_ENDING_LF=y (frames must not be rewritten)"
#endif
#else
#define WSB_CONSOLE_JTAG 0
#if !CONFIG_ESP_CONSOLE_UART
#error "wsbench needs the console on UART or USB-Serial-JTAG (ESP_CONSOLE_UART_* or ESP_CONSOLE_USB_SERIAL_JTAG)"
#endif
#endif

static const char *TAG = "wsb_out";

#define WRITER_STACK 2560
/* Driver TX buffer (bytes). */
#define WRITER_TX_BUFFER 1024

static RingbufHandle_t s_ring;
#if WSB_CONSOLE_JTAG
static int s_jtag_fd = -1; /* /dev/usbserjtag, opened for frames */
#endif
static volatile uint32_t s_dropped_other;
static SemaphoreHandle_t s_big_lock;
/* Shared encode buffer for the larger messages (Hello, RunStart, RunEnd, Reply, Owners). */
static uint8_t s_big[1024];

static esp_err_t console_driver_install(void)
{
#if WSB_CONSOLE_JTAG
    usb_serial_jtag_driver_config_t cfg = USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT();
    cfg.rx_buffer_size = CONFIG_WSBENCH_CONSOLE_RX_BUFFER;
    cfg.tx_buffer_size = WRITER_TX_BUFFER;
    ESP_RETURN_ON_ERROR(usb_serial_jtag_driver_install(&cfg), TAG, "usb_serial_jtag_driver_install");
    usb_serial_jtag_vfs_use_driver();
    /* Registered at startup when it is the console (usb_serial_jtag_vfs.c init_vfs_usj). */
    s_jtag_fd = open("/dev/usbserjtag", O_WRONLY);
    ESP_RETURN_ON_FALSE(s_jtag_fd >= 0, ESP_FAIL, TAG, "open /dev/usbserjtag");
#else
    const uart_port_t port = CONFIG_ESP_CONSOLE_UART_NUM;
    if (!uart_is_driver_installed(port)) {
        ESP_RETURN_ON_ERROR(uart_driver_install(port, CONFIG_WSBENCH_CONSOLE_RX_BUFFER, WRITER_TX_BUFFER, 0, NULL, 0), TAG,
                            "uart_driver_install");
    }
    uart_vfs_dev_use_driver(port);
#endif
    return ESP_OK;
}

static void write_frame(const uint8_t *data, size_t len)
{
#if WSB_CONSOLE_JTAG
    /* One VFS write: log output waits for the whole frame. Per byte, the VFS
     * driver path tries a non-blocking send, then once blocks up to 50 ms and
     * from then on drops bytes while no host reads (usbjtag_tx_char_via_driver):
     * a frame cut that way fails the host's CRC check. write() reports the full
     * size even then, so such losses are not counted here. */
    if (write(s_jtag_fd, data, len) != (ssize_t)len) {
        s_dropped_other++;
    }
#else
    if (uart_write_bytes(CONFIG_ESP_CONSOLE_UART_NUM, data, len) < 0) {
        s_dropped_other++;
    }
#endif
}

static void writer_task(void *arg)
{
    (void)arg;
    for (;;) {
        size_t len = 0;
        uint8_t *item = xRingbufferReceive(s_ring, &len, portMAX_DELAY);
        if (item == NULL) {
            continue;
        }
        write_frame(item, len);
        vRingbufferReturnItem(s_ring, item);
    }
}

esp_err_t wsb_out_init(void)
{
    esp_err_t ret = ESP_OK;
    /* Let earlier log text reach the wire before the driver takes over. */
    fflush(stdout);
    ESP_RETURN_ON_ERROR(console_driver_install(), TAG, "console driver");
    s_big_lock = xSemaphoreCreateMutex();
    ESP_GOTO_ON_FALSE(s_big_lock, ESP_ERR_NO_MEM, err, TAG, "lock");
    /* Internal RAM: the writer may read it while the flash cache is off. */
    s_ring = xRingbufferCreateWithCaps(CONFIG_WSBENCH_OUT_RING_SIZE, RINGBUF_TYPE_NOSPLIT, MALLOC_CAP_INTERNAL);
    ESP_GOTO_ON_FALSE(s_ring, ESP_ERR_NO_MEM, err, TAG, "ring of %d bytes", CONFIG_WSBENCH_OUT_RING_SIZE);
    BaseType_t ok = xTaskCreate(writer_task, "wsb_writer", WRITER_STACK, NULL, CONFIG_WSBENCH_WRITER_PRIO, NULL);
    ESP_GOTO_ON_FALSE(ok == pdPASS, ESP_ERR_NO_MEM, err, TAG, "writer task");
    return ESP_OK;
err:
    if (s_ring) {
        vRingbufferDeleteWithCaps(s_ring);
        s_ring = NULL;
    }
    if (s_big_lock) {
        vSemaphoreDelete(s_big_lock);
        s_big_lock = NULL;
    }
    return ret;
}

bool wsb_out_frame(const void *frame, size_t len, uint32_t wait_ms)
{
    if (s_ring == NULL) {
        return false;
    }
    return xRingbufferSend(s_ring, frame, len, pdMS_TO_TICKS(wait_ms)) == pdTRUE;
}

int wsb_out_read(uint8_t *buf, size_t len, uint32_t timeout_ms)
{
#if WSB_CONSOLE_JTAG
    int n = usb_serial_jtag_read_bytes(buf, len, pdMS_TO_TICKS(timeout_ms));
#else
    int n = uart_read_bytes(CONFIG_ESP_CONSOLE_UART_NUM, buf, len, pdMS_TO_TICKS(timeout_ms));
#endif
    return n < 0 ? 0 : n;
}

void wsb_out_flush(uint32_t timeout_ms)
{
    /* Until the writer has taken every frame from the ring... */
    TickType_t until = xTaskGetTickCount() + pdMS_TO_TICKS(timeout_ms);
    UBaseType_t waiting = 1;
    while (s_ring && (int32_t)(until - xTaskGetTickCount()) > 0) {
        vRingbufferGetInfo(s_ring, NULL, NULL, NULL, NULL, &waiting);
        if (waiting == 0) {
            break;
        }
        vTaskDelay(1);
    }
#if !WSB_CONSOLE_JTAG
    /* ...and the UART has shifted the last byte out. */
    (void)uart_wait_tx_done(CONFIG_ESP_CONSOLE_UART_NUM, pdMS_TO_TICKS(timeout_ms));
#else
    /* ...and the driver has handed its buffer to the host (bounded by the VFS at 50 ms). */
    (void)fsync(s_jtag_fd);
#endif
}

size_t wsb_out_ring_bytes(void)
{
    return CONFIG_WSBENCH_OUT_RING_SIZE;
}

uint32_t wsb_out_dropped_other(void)
{
    return s_dropped_other;
}

static bool queue_other(const void *frame, size_t len, uint32_t wait_ms)
{
    if (!wsb_out_frame(frame, len, wait_ms)) {
        s_dropped_other++;
        return false;
    }
    return true;
}

bool wsb_send_event(uint8_t kind, int16_t session, int32_t err, uint32_t dur_us, uint32_t size, const char *name,
                    uint32_t wait_ms)
{
    /* Small enough for any task's stack, including the websocket task's. */
    uint8_t buf[WSB_FRAME_OVERHEAD + 1 + 9 + 2 + 3 + 5 + 5 + 5 + 2 + 32];
    wsb_str_t n = wsb_cstr(name);
    if (n.len > 32) {
        n.len = 32;
    }
    wsb_event_t e = {
        .t_us = (uint64_t)esp_timer_get_time(),
        .kind = kind,
        .session = session,
        .err = err,
        .dur_us = dur_us,
        .size = size,
        .name = n,
    };
    size_t len = 0;
    if (wsb_frame_event(buf, sizeof(buf), &e, &len) != WSB_OK) {
        return false;
    }
    wsb_scenario_count_event();
    return queue_other(buf, len, wait_ms);
}

/* Encode into the shared buffer under its lock and queue. */
#define SEND_BIG(framer, msg)                                                                  \
    do {                                                                                       \
        size_t len_ = 0;                                                                       \
        bool ok_ = false;                                                                      \
        xSemaphoreTake(s_big_lock, portMAX_DELAY);                                             \
        if (framer(s_big, sizeof(s_big), (msg), &len_) == WSB_OK) {                            \
            ok_ = queue_other(s_big, len_, CONFIG_WSBENCH_OUT_WAIT_MS);                        \
        } else {                                                                               \
            ESP_LOGE(TAG, "%s does not fit %u bytes", #framer, (unsigned)sizeof(s_big));       \
        }                                                                                      \
        xSemaphoreGive(s_big_lock);                                                            \
        return ok_;                                                                            \
    } while (0)

bool wsb_send_reply(wsb_str_t cmd, const char *err)
{
    wsb_reply_t r = {.cmd = cmd, .ok = err == NULL, .err = wsb_cstr(err)};
    SEND_BIG(wsb_frame_reply, &r);
}

bool wsb_send_hello(void)
{
    wsb_hello_t h;
    wsb_hello_fill(&h);
    SEND_BIG(wsb_frame_hello, &h);
}

bool wsb_send_run_start(const wsb_run_params_t *p, uint64_t t_us)
{
    wsb_run_start_t m = {.params = *p, .t_us = t_us, .variant = wsb_cstr(CONFIG_WSBENCH_VARIANT)};
    SEND_BIG(wsb_frame_run_start, &m);
}

bool wsb_send_run_end(const wsb_run_end_t *e)
{
    SEND_BIG(wsb_frame_run_end, e);
}

bool wsb_send_owners(uint32_t seq, uint8_t phase)
{
    /* Owner labels need heap tracing; this firmware does not build it in, so
     * the table is empty (the collector then attributes nothing). */
    wsb_owners_t o = {.seq = seq, .phase = phase, .entries = NULL, .n_entries = 0};
    SEND_BIG(wsb_frame_owners, &o);
}
