/*
 * Line-command parser: the grammar, limits, error columns and error texts of
 * wire.ParseCommand and wire.ParseRunParams (wire/command.go).
 *
 *   line  = name *( " " key "=" value ) [ "\r" ] [ "\n" ]
 *   name  = key = 1*( a-z / 0-9 / "_" )
 *   value = *( A-Z a-z 0-9 . _ ~ : / @ , + - / "%" HEX HEX )
 *
 * At most WSB_MAX_COMMAND_LINE bytes after the line ending is removed; a key
 * appears at most once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wsbench_wire.h"

static bool key_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool plain_value_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("._~:/@,+-", c) != NULL);
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ---- Error text, formatted as Go's fmt/strconv would ---- */

typedef struct {
    char *p;
    size_t cap;
    size_t len;
} sbuf_t;

static void sb_putc(sbuf_t *s, char c)
{
    if (s->len + 1 < s->cap) {
        s->p[s->len++] = c;
        s->p[s->len] = 0;
    }
}

static void sb_puts(sbuf_t *s, const char *str)
{
    while (*str) {
        sb_putc(s, *str++);
    }
}

static void sb_printf(sbuf_t *s, const char *fmt, ...)
{
    if (s->len + 1 >= s->cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        s->len += (size_t)n < s->cap - s->len ? (size_t)n : s->cap - s->len - 1;
    }
}

/* The escape strconv uses for a non-printable ASCII rune, or 0. */
static char ascii_escape(unsigned char c)
{
    switch (c) {
    case '\a': return 'a';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\v': return 'v';
    default: return 0;
    }
}

/* One ASCII byte inside a Go quoted literal delimited by quote. */
static void quote_ascii(sbuf_t *s, unsigned char c, char quote)
{
    if (c == (unsigned char)quote || c == '\\') {
        sb_putc(s, '\\');
        sb_putc(s, (char)c);
    } else if (c >= 0x20 && c < 0x7f) {
        sb_putc(s, (char)c);
    } else if (ascii_escape(c)) {
        sb_putc(s, '\\');
        sb_putc(s, ascii_escape(c));
    } else {
        sb_printf(s, "\\x%02x", c);
    }
}

/* quoteByte in wire/command.go: strconv.QuoteRune for ASCII, '\xhh' above. */
static void quote_byte(sbuf_t *s, unsigned char c)
{
    sb_putc(s, '\'');
    if (c < 0x80) {
        quote_ascii(s, c, '\'');
    } else {
        sb_printf(s, "\\x%02x", c);
    }
    sb_putc(s, '\'');
}

/* Decode one UTF-8 sequence at p[0:n]; returns its length, 0 when invalid
 * (Go then writes the first byte as \xhh). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *r)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *r = v;
    return len;
}

/* strconv.QuoteToASCII of arbitrary bytes (wire/command.go quote):
 * printable means printable ASCII, a set both parsers define the same way.
 * Unicode's printable set depends on the version of its tables (this file
 * and Go once disagreed on U+070E), so every rune above ASCII is escaped. */
static void quote_str(sbuf_t *s, const char *str, size_t n)
{
    const unsigned char *p = (const unsigned char *)str;
    sb_putc(s, '"');
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            quote_ascii(s, p[i], '"');
            i++;
            continue;
        }
        uint32_t r;
        size_t w = utf8_decode(p + i, n - i, &r);
        if (w == 0) {
            sb_printf(s, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (r < 0x10000) {
            sb_printf(s, "\\u%04x", (unsigned)r);
        } else {
            sb_printf(s, "\\U%08x", (unsigned)r);
        }
        i += w;
    }
    sb_putc(s, '"');
}

/* Start a column error: msg = "column N: ". */
static sbuf_t col_error(wsb_cmd_error_t *err, int col)
{
    sbuf_t s = {err->msg, sizeof(err->msg), 0};
    err->msg[0] = 0;
    err->col = col;
    sb_printf(&s, "column %d: ", col);
    return s;
}

static sbuf_t plain_error(wsb_cmd_error_t *err)
{
    sbuf_t s = {err->msg, sizeof(err->msg), 0};
    err->msg[0] = 0;
    err->col = 0;
    return s;
}

/* "argument "key": " */
static void arg_prefix(sbuf_t *s, wsb_str_t key)
{
    sb_puts(s, "argument ");
    quote_str(s, key.ptr, key.len);
    sb_puts(s, ": ");
}

/* ---- Parser ---- */

bool wsb_command_get(const wsb_command_t *c, const char *key, wsb_str_t *value)
{
    for (size_t i = 0; i < c->n_args; i++) {
        if (wsb_str_eq(c->args[i].key, key)) {
            if (value) {
                *value = c->args[i].value;
            }
            return true;
        }
    }
    return false;
}

static bool has_key(const wsb_command_t *c, wsb_str_t key)
{
    for (size_t i = 0; i < c->n_args; i++) {
        if (c->args[i].key.len == key.len && memcmp(c->args[i].key.ptr, key.ptr, key.len) == 0) {
            return true;
        }
    }
    return false;
}

bool wsb_parse_command(const char *line, size_t len, wsb_command_t *c, wsb_cmd_error_t *err)
{
    const unsigned char *l = (const unsigned char *)line;
    c->name.ptr = c->store;
    c->name.len = 0;
    c->n_args = 0;
    err->col = 0;
    err->msg[0] = 0;

    /* strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r") */
    if (len > 0 && l[len - 1] == '\n') {
        len--;
    }
    if (len > 0 && l[len - 1] == '\r') {
        len--;
    }
    if (len > WSB_MAX_COMMAND_LINE) {
        sbuf_t s = col_error(err, WSB_MAX_COMMAND_LINE + 1);
        sb_printf(&s, "line longer than %d bytes", WSB_MAX_COMMAND_LINE);
        return false;
    }

    /* Everything stored is at most as long as the line, so store never
     * overflows: the name and keys are copied, values shrink when decoded. */
    size_t used = 0;
    size_t i = 0;
    while (i < len && key_byte(l[i])) {
        i++;
    }
    if (i == 0) {
        sbuf_t s = col_error(err, 1);
        sb_puts(&s, "expected a command name");
        return false;
    }
    memcpy(c->store, line, i);
    c->name.len = i;
    used = i;

    while (i < len) {
        if (l[i] != ' ') {
            sbuf_t s = col_error(err, (int)i + 1);
            sb_puts(&s, "unexpected byte ");
            quote_byte(&s, l[i]);
            return false;
        }
        i++;
        size_t start = i;
        while (i < len && key_byte(l[i])) {
            i++;
        }
        if (i == start) {
            sbuf_t s = col_error(err, (int)i + 1);
            sb_puts(&s, "expected an argument name");
            return false;
        }
        wsb_str_t key = {c->store + used, i - start};
        memcpy(c->store + used, line + start, key.len);
        used += key.len;
        if (i >= len || l[i] != '=') {
            sbuf_t s = col_error(err, (int)i + 1);
            arg_prefix(&s, key);
            sb_puts(&s, "expected '='");
            return false;
        }
        i++;
        wsb_str_t value = {c->store + used, 0};
        while (i < len && l[i] != ' ') {
            unsigned char ch = l[i];
            if (ch == '%') {
                if (i + 2 >= len) {
                    sbuf_t s = col_error(err, (int)i + 1);
                    arg_prefix(&s, key);
                    sb_puts(&s, "truncated %XX escape");
                    return false;
                }
                int hi = hex_val(l[i + 1]), lo = hex_val(l[i + 2]);
                if (hi < 0 || lo < 0) {
                    sbuf_t s = col_error(err, (int)i + 1);
                    arg_prefix(&s, key);
                    sb_puts(&s, "bad %XX escape ");
                    quote_str(&s, line + i, 3);
                    return false;
                }
                c->store[used++] = (char)(hi << 4 | lo);
                i += 3;
            } else if (plain_value_byte(ch)) {
                c->store[used++] = (char)ch;
                i++;
            } else {
                sbuf_t s = col_error(err, (int)i + 1);
                arg_prefix(&s, key);
                sb_puts(&s, "byte ");
                quote_byte(&s, ch);
                sb_puts(&s, " must be %-escaped");
                return false;
            }
        }
        value.len = (size_t)(c->store + used - value.ptr);
        if (has_key(c, key)) {
            sbuf_t s = col_error(err, (int)start + 1);
            sb_puts(&s, "argument ");
            quote_str(&s, key.ptr, key.len);
            sb_puts(&s, " given twice");
            return false;
        }
        c->args[c->n_args].key = key;
        c->args[c->n_args].value = value;
        c->n_args++;
    }
    return true;
}

/* strconv.ParseUint(v, 10, bits). */
static bool parse_uint(wsb_str_t v, int bits, uint64_t *out)
{
    uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    uint64_t x = 0;
    if (v.len == 0) {
        return false;
    }
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.ptr[i];
        if (ch < '0' || ch > '9') {
            return false;
        }
        unsigned d = ch - '0';
        if (x > (max - d) / 10) {
            return false;
        }
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

static wsb_str_t lit(const char *s)
{
    return wsb_cstr(s);
}

bool wsb_parse_run_params(const wsb_command_t *c, wsb_run_params_t *p, wsb_cmd_error_t *err)
{
    memset(p, 0, sizeof(*p));
    p->period_ms = 100;
    p->detail_every = 10;
    p->baseline_ms = 2000;
    p->window_ms = 10000;
    p->cycles = 20;
    p->handler = lit(WSB_HANDLER_QUEUED);
    p->work_ms = 50;
    p->event_ms = 100;

    if (!wsb_str_eq(c->name, WSB_CMD_RUN)) {
        sbuf_t s = plain_error(err);
        sb_puts(&s, "not a run command: ");
        quote_str(&s, c->name.ptr, c->name.len);
        return false;
    }
    for (size_t i = 0; i < c->n_args; i++) {
        wsb_str_t k = c->args[i].key, v = c->args[i].value;
        int bits = 0;
        uint64_t num = 0;
        if (wsb_str_eq(k, "cell")) {
            p->cell = v;
        } else if (wsb_str_eq(k, "scenario")) {
            p->scenario = v;
        } else if (wsb_str_eq(k, "handler")) {
            p->handler = v;
        } else if (wsb_str_eq(k, "ws_url")) {
            p->ws_url = v;
        } else if (wsb_str_eq(k, "https_url")) {
            p->https_url = v;
        } else if (wsb_str_eq(k, "n") || wsb_str_eq(k, "detail_every")) {
            bits = 16;
        } else if (wsb_str_eq(k, "seed")) {
            bits = 64;
        } else if (wsb_str_eq(k, "period_ms") || wsb_str_eq(k, "baseline_ms") || wsb_str_eq(k, "window_ms") ||
                   wsb_str_eq(k, "cycles") || wsb_str_eq(k, "work_ms") || wsb_str_eq(k, "event_ms")) {
            bits = 32;
        } else {
            sbuf_t s = plain_error(err);
            sb_puts(&s, "run: unknown argument ");
            quote_str(&s, k.ptr, k.len);
            return false;
        }
        if (bits == 0) {
            continue;
        }
        if (!parse_uint(v, bits, &num)) {
            sbuf_t s = plain_error(err);
            sb_puts(&s, "run: argument ");
            sb_printf(&s, "%.*s=", (int)k.len, k.ptr);
            quote_str(&s, v.ptr, v.len);
            sb_printf(&s, ": want an unsigned %d-bit number", bits);
            return false;
        }
        if (wsb_str_eq(k, "n")) {
            p->n = (uint16_t)num;
        } else if (wsb_str_eq(k, "detail_every")) {
            p->detail_every = (uint16_t)num;
        } else if (wsb_str_eq(k, "seed")) {
            p->seed = num;
        } else if (wsb_str_eq(k, "period_ms")) {
            p->period_ms = (uint32_t)num;
        } else if (wsb_str_eq(k, "baseline_ms")) {
            p->baseline_ms = (uint32_t)num;
        } else if (wsb_str_eq(k, "window_ms")) {
            p->window_ms = (uint32_t)num;
        } else if (wsb_str_eq(k, "cycles")) {
            p->cycles = (uint32_t)num;
        } else if (wsb_str_eq(k, "work_ms")) {
            p->work_ms = (uint32_t)num;
        } else {
            p->event_ms = (uint32_t)num;
        }
    }
    if (p->scenario.len == 0) {
        sbuf_t s = plain_error(err);
        sb_puts(&s, "run: argument scenario is required (sweep, churn, handler)");
        return false;
    }
    if (!wsb_str_eq(p->scenario, WSB_SCENARIO_SWEEP) && !wsb_str_eq(p->scenario, WSB_SCENARIO_CHURN) &&
        !wsb_str_eq(p->scenario, WSB_SCENARIO_HANDLER)) {
        sbuf_t s = plain_error(err);
        sb_puts(&s, "run: unknown scenario ");
        quote_str(&s, p->scenario.ptr, p->scenario.len);
        sb_puts(&s, " (want sweep, churn, handler)");
        return false;
    }
    if (!wsb_str_eq(p->handler, WSB_HANDLER_INLINE) && !wsb_str_eq(p->handler, WSB_HANDLER_QUEUED)) {
        sbuf_t s = plain_error(err);
        sb_puts(&s, "run: handler=");
        quote_str(&s, p->handler.ptr, p->handler.len);
        sb_puts(&s, ": want inline or queued");
        return false;
    }
    if (p->n > WSB_MAX_SESSIONS) {
        sbuf_t s = plain_error(err);
        sb_printf(&s, "run: n=%u exceeds %d sessions", (unsigned)p->n, WSB_MAX_SESSIONS);
        return false;
    }
    if (p->period_ms < WSB_MIN_PERIOD_MS) {
        sbuf_t s = plain_error(err);
        sb_printf(&s, "run: period_ms must be at least %d", WSB_MIN_PERIOD_MS);
        return false;
    }
    if (wsb_str_eq(p->scenario, WSB_SCENARIO_HANDLER) && p->event_ms == 0) {
        sbuf_t s = plain_error(err);
        sb_puts(&s, "run: event_ms must be positive for the handler scenario");
        return false;
    }
    return true;
}
