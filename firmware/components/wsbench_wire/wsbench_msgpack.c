/*
 * MessagePack encoding of the wsbench messages, byte for byte what
 * tinylib/msgp v1.6.5 produces for wire/messages.go:
 *
 * - integers: the smallest encoding msgp's AppendUint64 / AppendInt64 pick;
 *   note that AppendInt64 writes non-negative values with the *signed*
 *   families (int16 0xd1, int32 0xd2, int64 0xd3), never uint8..uint64;
 * - map-form messages (Hello, Options, RunParams, RunStart, RunEnd, Reply):
 *   keys in declaration order, header as msgp's generator writes it
 *   (fixmap up to 15 keys, map16 above);
 * - tuple messages (Sample, HeapDetail, HeapInfo, Event, Owners, OwnerUse):
 *   an array of the fields in declaration order.
 */
#include <string.h>

#include "wsbench_wire.h"

wsb_str_t wsb_cstr(const char *s)
{
    wsb_str_t r = {s, s ? strlen(s) : 0};
    return r;
}

bool wsb_str_eq(wsb_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

const char *wsb_phase_name(uint8_t phase)
{
    static const char *const names[] = {"idle", "baseline", "ramp", "steady", "teardown", "churn", "handler", "done"};
    return phase < sizeof(names) / sizeof(names[0]) ? names[phase] : "";
}

void wsb_buf_init(wsb_buf_t *b, void *mem, size_t cap)
{
    b->buf = (uint8_t *)mem;
    b->cap = cap;
    b->len = 0;
    b->overflow = false;
}

static uint8_t *reserve(wsb_buf_t *b, size_t n)
{
    if (b->overflow || b->cap - b->len < n) {
        b->overflow = true;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    b->len += n;
    return p;
}

static void put_byte(wsb_buf_t *b, uint8_t v)
{
    uint8_t *p = reserve(b, 1);
    if (p) {
        p[0] = v;
    }
}

/* A marker byte followed by the low n bytes of v, big endian. */
static void put_be(wsb_buf_t *b, uint8_t marker, uint64_t v, size_t n)
{
    uint8_t *p = reserve(b, 1 + n);
    if (!p) {
        return;
    }
    p[0] = marker;
    for (size_t i = 0; i < n; i++) {
        p[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

void wsb_put_uint(wsb_buf_t *b, uint64_t v)
{
    if (v <= 0x7f) {
        put_byte(b, (uint8_t)v); /* positive fixint */
    } else if (v <= 0xff) {
        put_be(b, 0xcc, v, 1);
    } else if (v <= 0xffff) {
        put_be(b, 0xcd, v, 2);
    } else if (v <= 0xffffffffu) {
        put_be(b, 0xce, v, 4);
    } else {
        put_be(b, 0xcf, v, 8);
    }
}

void wsb_put_int(wsb_buf_t *b, int64_t v)
{
    uint64_t u = (uint64_t)v; /* two's complement bytes */
    if (v >= 0) {
        if (v <= INT8_MAX) {
            put_byte(b, (uint8_t)v);
        } else if (v <= INT16_MAX) {
            put_be(b, 0xd1, u, 2);
        } else if (v <= INT32_MAX) {
            put_be(b, 0xd2, u, 4);
        } else {
            put_be(b, 0xd3, u, 8);
        }
        return;
    }
    if (v >= -32) {
        put_byte(b, (uint8_t)u); /* negative fixint 0xe0..0xff */
    } else if (v >= INT8_MIN) {
        put_be(b, 0xd0, u, 1);
    } else if (v >= INT16_MIN) {
        put_be(b, 0xd1, u, 2);
    } else if (v >= INT32_MIN) {
        put_be(b, 0xd2, u, 4);
    } else {
        put_be(b, 0xd3, u, 8);
    }
}

void wsb_put_bool(wsb_buf_t *b, bool v)
{
    put_byte(b, v ? 0xc3 : 0xc2);
}

void wsb_put_str(wsb_buf_t *b, wsb_str_t s)
{
    if (s.len <= 31) {
        put_byte(b, (uint8_t)(0xa0 | s.len));
    } else if (s.len <= 0xff) {
        put_be(b, 0xd9, s.len, 1);
    } else if (s.len <= 0xffff) {
        put_be(b, 0xda, s.len, 2);
    } else {
        put_be(b, 0xdb, s.len, 4);
    }
    if (s.len == 0) {
        return;
    }
    uint8_t *p = reserve(b, s.len);
    if (p) {
        memcpy(p, s.ptr, s.len);
    }
}

void wsb_put_array_header(wsb_buf_t *b, uint32_t n)
{
    if (n <= 15) {
        put_byte(b, (uint8_t)(0x90 | n));
    } else if (n <= 0xffff) {
        put_be(b, 0xdc, n, 2);
    } else {
        put_be(b, 0xdd, n, 4);
    }
}

void wsb_put_map_header(wsb_buf_t *b, uint32_t n)
{
    if (n <= 15) {
        put_byte(b, (uint8_t)(0x80 | n));
    } else if (n <= 0xffff) {
        put_be(b, 0xde, n, 2);
    } else {
        put_be(b, 0xdf, n, 4);
    }
}

/* A map key: every key of the schema is a fixstr. */
static void key(wsb_buf_t *b, const char *k)
{
    wsb_put_str(b, wsb_cstr(k));
}

void wsb_encode_options(wsb_buf_t *b, const wsb_options_t *m)
{
    wsb_put_map_header(b, 15);
    key(b, "ws_task_stack_in_ext_ram");
    wsb_put_bool(b, m->ws_task_stack_in_ext_ram);
    key(b, "ws_alloc_in_ext_ram");
    wsb_put_bool(b, m->ws_alloc_in_ext_ram);
    key(b, "ws_task_stack");
    wsb_put_uint(b, m->ws_task_stack);
    key(b, "ws_buffer_size");
    wsb_put_uint(b, m->ws_buffer_size);
    key(b, "ws_dynamic_buffer");
    wsb_put_bool(b, m->ws_dynamic_buffer);
    key(b, "mbedtls_alloc");
    wsb_put_str(b, m->mbedtls_alloc);
    key(b, "mbedtls_in_len");
    wsb_put_uint(b, m->mbedtls_in_len);
    key(b, "mbedtls_out_len");
    wsb_put_uint(b, m->mbedtls_out_len);
    key(b, "mbedtls_dynamic_buffer");
    wsb_put_bool(b, m->mbedtls_dynamic_buffer);
    key(b, "mbedtls_keep_peer_cert");
    wsb_put_bool(b, m->mbedtls_keep_peer_cert);
    key(b, "spiram_use");
    wsb_put_str(b, m->spiram_use);
    key(b, "spiram_always_internal");
    wsb_put_uint(b, m->spiram_always_internal);
    key(b, "spiram_reserve_internal");
    wsb_put_uint(b, m->spiram_reserve_internal);
    key(b, "task_wdt_timeout_s");
    wsb_put_uint(b, m->task_wdt_timeout_s);
    key(b, "task_wdt_panic");
    wsb_put_bool(b, m->task_wdt_panic);
}

void wsb_encode_hello(wsb_buf_t *b, const wsb_hello_t *m)
{
    /* "emulator" is written only when set, as Go's omitempty does. */
    wsb_put_map_header(b, m->emulator.len > 0 ? 24 : 23);
    key(b, "protocol");
    wsb_put_uint(b, m->protocol);
    key(b, "board");
    wsb_put_str(b, m->board);
    key(b, "virtual");
    wsb_put_bool(b, m->is_virtual);
    key(b, "chip");
    wsb_put_str(b, m->chip);
    key(b, "chip_rev");
    wsb_put_uint(b, m->chip_rev);
    key(b, "cores");
    wsb_put_uint(b, m->cores);
    key(b, "flash_size");
    wsb_put_uint(b, m->flash_size);
    key(b, "psram_size");
    wsb_put_uint(b, m->psram_size);
    key(b, "internal_total");
    wsb_put_uint(b, m->internal_total);
    key(b, "spiram_total");
    wsb_put_uint(b, m->spiram_total);
    key(b, "idf");
    wsb_put_str(b, m->idf);
    key(b, "app");
    wsb_put_str(b, m->app);
    key(b, "app_version");
    wsb_put_str(b, m->app_version);
    key(b, "elf_sha256");
    wsb_put_str(b, m->elf_sha256);
    key(b, "component");
    wsb_put_str(b, m->component);
    key(b, "component_version");
    wsb_put_str(b, m->component_version);
    key(b, "component_commit");
    wsb_put_str(b, m->component_commit);
    key(b, "behaviour");
    wsb_put_str(b, m->behaviour);
    key(b, "variant");
    wsb_put_str(b, m->variant);
    key(b, "options");
    wsb_encode_options(b, &m->options);
    key(b, "sampler_stack");
    wsb_put_uint(b, m->sampler_stack);
    key(b, "sampler_buffers");
    wsb_put_uint(b, m->sampler_buffers);
    key(b, "reset_reason");
    wsb_put_uint(b, m->reset_reason);
    if (m->emulator.len > 0) {
        key(b, "emulator");
        wsb_put_str(b, m->emulator);
    }
}

void wsb_encode_run_params(wsb_buf_t *b, const wsb_run_params_t *m)
{
    wsb_put_map_header(b, 14);
    key(b, "cell");
    wsb_put_str(b, m->cell);
    key(b, "scenario");
    wsb_put_str(b, m->scenario);
    key(b, "n");
    wsb_put_uint(b, m->n);
    key(b, "period_ms");
    wsb_put_uint(b, m->period_ms);
    key(b, "detail_every");
    wsb_put_uint(b, m->detail_every);
    key(b, "baseline_ms");
    wsb_put_uint(b, m->baseline_ms);
    key(b, "window_ms");
    wsb_put_uint(b, m->window_ms);
    key(b, "cycles");
    wsb_put_uint(b, m->cycles);
    key(b, "handler");
    wsb_put_str(b, m->handler);
    key(b, "work_ms");
    wsb_put_uint(b, m->work_ms);
    key(b, "event_ms");
    wsb_put_uint(b, m->event_ms);
    key(b, "seed");
    wsb_put_uint(b, m->seed);
    key(b, "ws_url");
    wsb_put_str(b, m->ws_url);
    key(b, "https_url");
    wsb_put_str(b, m->https_url);
}

void wsb_encode_run_start(wsb_buf_t *b, const wsb_run_start_t *m)
{
    wsb_put_map_header(b, 3);
    key(b, "params");
    wsb_encode_run_params(b, &m->params);
    key(b, "t_us");
    wsb_put_uint(b, m->t_us);
    key(b, "variant");
    wsb_put_str(b, m->variant);
}

void wsb_encode_run_end(wsb_buf_t *b, const wsb_run_end_t *m)
{
    wsb_put_map_header(b, 7);
    key(b, "cell");
    wsb_put_str(b, m->cell);
    key(b, "t_us");
    wsb_put_uint(b, m->t_us);
    key(b, "status");
    wsb_put_str(b, m->status);
    key(b, "err");
    wsb_put_str(b, m->err);
    key(b, "samples_sent");
    wsb_put_uint(b, m->samples_sent);
    key(b, "samples_dropped");
    wsb_put_uint(b, m->samples_dropped);
    key(b, "events");
    wsb_put_uint(b, m->events);
}

void wsb_encode_sample(wsb_buf_t *b, const wsb_sample_t *m)
{
    wsb_put_array_header(b, 11);
    wsb_put_uint(b, m->seq);
    wsb_put_uint(b, m->t_us);
    wsb_put_uint(b, m->phase);
    wsb_put_uint(b, m->sessions);
    wsb_put_uint(b, m->internal_free);
    wsb_put_uint(b, m->internal_min_free);
    wsb_put_uint(b, m->internal_largest);
    wsb_put_uint(b, m->spiram_free);
    wsb_put_uint(b, m->spiram_min_free);
    wsb_put_uint(b, m->spiram_largest);
    wsb_put_int(b, m->ws_stack_hwm);
}

void wsb_encode_heap_info(wsb_buf_t *b, const wsb_heap_info_t *m)
{
    wsb_put_array_header(b, 7);
    wsb_put_uint(b, m->free);
    wsb_put_uint(b, m->allocated);
    wsb_put_uint(b, m->largest);
    wsb_put_uint(b, m->min_free);
    wsb_put_uint(b, m->allocated_blocks);
    wsb_put_uint(b, m->free_blocks);
    wsb_put_uint(b, m->total_blocks);
}

void wsb_encode_heap_detail(wsb_buf_t *b, const wsb_heap_detail_t *m)
{
    wsb_put_array_header(b, 4);
    wsb_put_uint(b, m->seq);
    wsb_encode_heap_info(b, &m->internal);
    wsb_encode_heap_info(b, &m->dma);
    wsb_encode_heap_info(b, &m->spiram);
}

void wsb_encode_event(wsb_buf_t *b, const wsb_event_t *m)
{
    wsb_put_array_header(b, 7);
    wsb_put_uint(b, m->t_us);
    wsb_put_uint(b, m->kind);
    wsb_put_int(b, m->session);
    wsb_put_int(b, m->err);
    wsb_put_uint(b, m->dur_us);
    wsb_put_uint(b, m->size);
    wsb_put_str(b, m->name);
}

void wsb_encode_owners(wsb_buf_t *b, const wsb_owners_t *m)
{
    wsb_put_array_header(b, 3);
    wsb_put_uint(b, m->seq);
    wsb_put_uint(b, m->phase);
    wsb_put_array_header(b, (uint32_t)m->n_entries);
    for (size_t i = 0; i < m->n_entries; i++) {
        const wsb_owner_use_t *e = &m->entries[i];
        wsb_put_array_header(b, 4);
        wsb_put_str(b, e->label);
        wsb_put_uint(b, e->heap);
        wsb_put_uint(b, e->bytes);
        wsb_put_uint(b, e->blocks);
    }
}

void wsb_encode_reply(wsb_buf_t *b, const wsb_reply_t *m)
{
    wsb_put_map_header(b, 3);
    key(b, "cmd");
    wsb_put_str(b, m->cmd);
    key(b, "ok");
    wsb_put_bool(b, m->ok);
    key(b, "err");
    wsb_put_str(b, m->err);
}
