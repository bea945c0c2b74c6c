/*
 * Framing (wire/frame.go):
 *
 *   0xA5 0x57 | type (1) | length (2, LE) | payload | CRC-32/IEEE (4, LE)
 *
 * The CRC covers type, length and payload.
 */
#include "wsbench_wire.h"

/* Reflected CRC-32 (polynomial 0xEDB88320), four bits at a time: a 64-byte
 * table instead of the usual 1 KiB, fast enough for a few kB/s of frames. */
uint32_t wsb_crc32(uint32_t crc, const void *data, size_t len)
{
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
        0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu, 0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
    };
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return ~crc;
}

size_t wsb_frame_begin(wsb_buf_t *b, uint8_t t)
{
    size_t start = b->len;
    if (b->overflow || b->cap - b->len < WSB_FRAME_HEADER) {
        b->overflow = true;
        return start;
    }
    uint8_t *p = b->buf + b->len;
    p[0] = WSB_MAGIC0;
    p[1] = WSB_MAGIC1;
    p[2] = t;
    p[3] = 0;
    p[4] = 0;
    b->len += WSB_FRAME_HEADER;
    return start;
}

wsb_status_t wsb_frame_end(wsb_buf_t *b, size_t start)
{
    if (b->overflow) {
        return WSB_ERR_NO_SPACE;
    }
    size_t n = b->len - start - WSB_FRAME_HEADER;
    if (n > WSB_MAX_PAYLOAD) {
        b->len = start;
        return WSB_ERR_TOO_LARGE;
    }
    if (b->cap - b->len < WSB_FRAME_TRAILER) {
        b->overflow = true;
        return WSB_ERR_NO_SPACE;
    }
    uint8_t *f = b->buf + start;
    f[3] = (uint8_t)n;
    f[4] = (uint8_t)(n >> 8);
    uint32_t crc = wsb_crc32(0, f + 2, WSB_FRAME_HEADER - 2 + n);
    uint8_t *t = b->buf + b->len;
    t[0] = (uint8_t)crc;
    t[1] = (uint8_t)(crc >> 8);
    t[2] = (uint8_t)(crc >> 16);
    t[3] = (uint8_t)(crc >> 24);
    b->len += WSB_FRAME_TRAILER;
    return WSB_OK;
}

#define DEFINE_FRAMER(name, type_t, frame_type)                                      \
    wsb_status_t wsb_frame_##name(void *out, size_t cap, const type_t *m, size_t *n) \
    {                                                                                \
        wsb_buf_t b;                                                                 \
        wsb_buf_init(&b, out, cap);                                                  \
        size_t start = wsb_frame_begin(&b, (frame_type));                            \
        wsb_encode_##name(&b, m);                                                    \
        wsb_status_t st = wsb_frame_end(&b, start);                                  \
        *n = st == WSB_OK ? b.len : 0;                                               \
        return st;                                                                   \
    }

DEFINE_FRAMER(hello, wsb_hello_t, WSB_TYPE_HELLO)
DEFINE_FRAMER(run_start, wsb_run_start_t, WSB_TYPE_RUN_START)
DEFINE_FRAMER(run_end, wsb_run_end_t, WSB_TYPE_RUN_END)
DEFINE_FRAMER(sample, wsb_sample_t, WSB_TYPE_SAMPLE)
DEFINE_FRAMER(heap_detail, wsb_heap_detail_t, WSB_TYPE_HEAP_DETAIL)
DEFINE_FRAMER(event, wsb_event_t, WSB_TYPE_EVENT)
DEFINE_FRAMER(owners, wsb_owners_t, WSB_TYPE_OWNERS)
DEFINE_FRAMER(reply, wsb_reply_t, WSB_TYPE_REPLY)
