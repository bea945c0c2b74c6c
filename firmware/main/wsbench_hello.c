/*
 * The Hello message: the board, the image and every build option that decides
 * where memory goes, read from sdkconfig macros so it cannot disagree with
 * what was compiled.
 */
#include <stdio.h>
#include <string.h>

#include "esp_app_desc.h"
#include "esp_chip_info.h"
#include "esp_flash.h"
#include "esp_heap_caps.h"
#include "esp_idf_version.h"
#include "esp_system.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

#if CONFIG_SPIRAM
#include "esp_psram.h"
#endif

#ifndef WSBENCH_WS_COMPONENT_VERSION
#define WSBENCH_WS_COMPONENT_VERSION ""
#endif
#ifndef WSBENCH_WS_COMPONENT_COMMIT
#define WSBENCH_WS_COMPONENT_COMMIT ""
#endif

/* Placement options of the component under test; undefined (off) when the
 * component has no such option (a release before PR 980 / PR 1117). */
#if defined(CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM) && CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM
#define WS_STACK_EXT true
#else
#define WS_STACK_EXT false
#endif
#if defined(CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM) && CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM
#define WS_ALLOC_EXT true
#else
#define WS_ALLOC_EXT false
#endif
#if defined(CONFIG_ESP_WS_CLIENT_ENABLE_DYNAMIC_BUFFER) && CONFIG_ESP_WS_CLIENT_ENABLE_DYNAMIC_BUFFER
#define WS_DYN_BUF true
#else
#define WS_DYN_BUF false
#endif

/* mbedTLS allocation mode (facts sheet section 2, MBEDTLS_MEM_ALLOC_MODE). */
#if CONFIG_MBEDTLS_EXTERNAL_MEM_ALLOC
#define MBEDTLS_ALLOC "external"
#elif CONFIG_MBEDTLS_DEFAULT_MEM_ALLOC
#define MBEDTLS_ALLOC "default"
#elif CONFIG_MBEDTLS_CUSTOM_MEM_ALLOC
#define MBEDTLS_ALLOC "custom"
#elif CONFIG_MBEDTLS_IRAM_8BIT_MEM_ALLOC
#define MBEDTLS_ALLOC "iram8"
#else
#define MBEDTLS_ALLOC "internal"
#endif

#if CONFIG_MBEDTLS_ASYMMETRIC_CONTENT_LEN
#define MBEDTLS_IN_LEN CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_OUT_LEN CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN
#else
#define MBEDTLS_IN_LEN CONFIG_MBEDTLS_SSL_MAX_CONTENT_LEN
#define MBEDTLS_OUT_LEN CONFIG_MBEDTLS_SSL_MAX_CONTENT_LEN
#endif

#if !CONFIG_SPIRAM
#define SPIRAM_USE "none"
#elif CONFIG_SPIRAM_USE_MALLOC
#define SPIRAM_USE "malloc"
#elif CONFIG_SPIRAM_USE_CAPS_ALLOC
#define SPIRAM_USE "caps_alloc"
#else
#define SPIRAM_USE "memmap"
#endif

#if CONFIG_SPIRAM_USE_MALLOC
#define SPIRAM_ALWAYSINTERNAL CONFIG_SPIRAM_MALLOC_ALWAYSINTERNAL
#define SPIRAM_RESERVE CONFIG_SPIRAM_MALLOC_RESERVE_INTERNAL
#else
#define SPIRAM_ALWAYSINTERNAL 0
#define SPIRAM_RESERVE 0
#endif

#if CONFIG_ESP_TASK_WDT_EN
#define TWDT_TIMEOUT CONFIG_ESP_TASK_WDT_TIMEOUT_S
#else
#define TWDT_TIMEOUT 0
#endif

#if CONFIG_WSBENCH_BEHAVIOUR_STRICT
#define BEHAVIOUR "strict"
#else
#define BEHAVIOUR "fallback"
#endif

void wsb_hello_fill(wsb_hello_t *h)
{
    static char elf_sha[17];
    static const char *board;
    esp_chip_info_t chip;
    esp_chip_info(&chip);
    uint32_t flash = 0;
    (void)esp_flash_get_size(NULL, &flash);
    if (elf_sha[0] == 0) {
        esp_app_get_elf_sha256(elf_sha, sizeof(elf_sha));
    }
    board = CONFIG_WSBENCH_BOARD_NAME[0] ? CONFIG_WSBENCH_BOARD_NAME : CONFIG_IDF_TARGET;
    const esp_app_desc_t *app = esp_app_get_description();

    memset(h, 0, sizeof(*h));
    h->protocol = WSB_PROTOCOL_VERSION;
    h->board = wsb_cstr(board);
    h->is_virtual = false;
    h->chip = wsb_cstr(CONFIG_IDF_TARGET);
    h->chip_rev = chip.revision; /* major*100 + minor (esp_chip_info_t.revision) */
    h->cores = chip.cores;
    h->flash_size = flash;
#if CONFIG_SPIRAM
    h->psram_size = (uint32_t)esp_psram_get_size();
#endif
    h->internal_total = (uint32_t)heap_caps_get_total_size(MALLOC_CAP_INTERNAL);
    h->spiram_total = (uint32_t)heap_caps_get_total_size(MALLOC_CAP_SPIRAM);
    h->idf = wsb_cstr(esp_get_idf_version());
    h->app = wsb_cstr(app->project_name);
    h->app_version = wsb_cstr(app->version);
    h->elf_sha256 = wsb_cstr(elf_sha);
    h->component = wsb_cstr("espressif/esp_websocket_client");
    h->component_version = wsb_cstr(WSBENCH_WS_COMPONENT_VERSION);
    h->component_commit = wsb_cstr(WSBENCH_WS_COMPONENT_COMMIT);
    h->behaviour = wsb_cstr(BEHAVIOUR);
    h->variant = wsb_cstr(CONFIG_WSBENCH_VARIANT);
    h->options = (wsb_options_t){
        .ws_task_stack_in_ext_ram = WS_STACK_EXT,
        .ws_alloc_in_ext_ram = WS_ALLOC_EXT,
        .ws_task_stack = CONFIG_WSBENCH_WS_TASK_STACK,
        .ws_buffer_size = CONFIG_WSBENCH_WS_BUFFER_SIZE,
        .ws_dynamic_buffer = WS_DYN_BUF,
        .mbedtls_alloc = wsb_cstr(MBEDTLS_ALLOC),
        .mbedtls_in_len = MBEDTLS_IN_LEN,
        .mbedtls_out_len = MBEDTLS_OUT_LEN,
#if CONFIG_MBEDTLS_DYNAMIC_BUFFER
        .mbedtls_dynamic_buffer = true,
#endif
#if CONFIG_MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
        .mbedtls_keep_peer_cert = true,
#endif
        .spiram_use = wsb_cstr(SPIRAM_USE),
        .spiram_always_internal = SPIRAM_ALWAYSINTERNAL,
        .spiram_reserve_internal = SPIRAM_RESERVE,
        .task_wdt_timeout_s = TWDT_TIMEOUT,
#if CONFIG_ESP_TASK_WDT_PANIC
        .task_wdt_panic = true,
#endif
    };
    h->sampler_stack = CONFIG_WSBENCH_SAMPLER_STACK;
    h->sampler_buffers = (uint32_t)wsb_sampler_buffer_bytes();
    h->reset_reason = (uint8_t)esp_reset_reason();
#if CONFIG_WSBENCH_NET_OPENETH
    /* open_eth exists only in QEMU: the image is built for the emulator. */
    h->emulator = wsb_cstr("qemu");
#endif
}
