/*
 * Host test harness for components/wsbench_wire, driven by firmware/host_test.go.
 *
 *   harness msg   frames every case of the generated cases table (harness_cases.c)
 *                 and prints one line per case: "<name> <hex of the frame>" or
 *                 "<name> ERR <status>".
 *   harness cmd   reads hex-encoded command lines from stdin, one per line, and
 *                 prints one result line for each:
 *                   E <col> <hex msg>
 *                   O <hex name> <n> [<hex key>=<hex value>]... then, for "run":
 *                     R <hex of the RunParams MessagePack>   or   X <hex msg>
 *                 Empty hex strings are written "-".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wsbench_wire.h"

static void put_hex(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    if (n == 0) {
        fputs("-", stdout);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%02x", b[i]);
    }
}

static int run_msg(void)
{
    static unsigned char out[WSB_MAX_PAYLOAD + WSB_FRAME_OVERHEAD + 64];
    for (size_t i = 0; i < harness_n_cases; i++) {
        const harness_case_t *c = &harness_cases[i];
        size_t n = 0;
        wsb_status_t st;
        switch (c->type) {
        case WSB_TYPE_HELLO: st = wsb_frame_hello(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_RUN_START: st = wsb_frame_run_start(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_RUN_END: st = wsb_frame_run_end(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_SAMPLE: st = wsb_frame_sample(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_HEAP_DETAIL: st = wsb_frame_heap_detail(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_EVENT: st = wsb_frame_event(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_OWNERS: st = wsb_frame_owners(out, sizeof(out), c->msg, &n); break;
        case WSB_TYPE_REPLY: st = wsb_frame_reply(out, sizeof(out), c->msg, &n); break;
        default: fprintf(stderr, "case %s: unknown type %d\n", c->name, c->type); return 2;
        }
        printf("%s ", c->name);
        if (st != WSB_OK) {
            printf("ERR %d\n", (int)st);
            continue;
        }
        put_hex(out, n);
        putchar('\n');
    }
    return 0;
}

static int unhex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static int run_cmd(void)
{
    static char in[4 * WSB_MAX_COMMAND_LINE + 64];
    static char line[2 * WSB_MAX_COMMAND_LINE + 32];
    static wsb_command_t cmd;
    static unsigned char enc[2048];
    while (fgets(in, sizeof(in), stdin)) {
        size_t hl = strcspn(in, "\r\n");
        size_t n = 0;
        if (!(hl == 1 && in[0] == '-')) {
            for (size_t i = 0; i + 1 < hl; i += 2) {
                int hi = unhex(in[i]), lo = unhex(in[i + 1]);
                if (hi < 0 || lo < 0 || n >= sizeof(line)) {
                    fprintf(stderr, "bad hex input\n");
                    return 2;
                }
                line[n++] = (char)(hi << 4 | lo);
            }
        }
        wsb_cmd_error_t err;
        if (!wsb_parse_command(line, n, &cmd, &err)) {
            printf("E %d ", err.col);
            put_hex(err.msg, strlen(err.msg));
            putchar('\n');
            fflush(stdout);
            continue;
        }
        printf("O ");
        put_hex(cmd.name.ptr, cmd.name.len);
        printf(" %zu", cmd.n_args);
        for (size_t i = 0; i < cmd.n_args; i++) {
            putchar(' ');
            put_hex(cmd.args[i].key.ptr, cmd.args[i].key.len);
            putchar('=');
            put_hex(cmd.args[i].value.ptr, cmd.args[i].value.len);
        }
        if (wsb_str_eq(cmd.name, WSB_CMD_RUN)) {
            wsb_run_params_t p;
            if (wsb_parse_run_params(&cmd, &p, &err)) {
                wsb_buf_t b;
                wsb_buf_init(&b, enc, sizeof(enc));
                wsb_encode_run_params(&b, &p);
                if (b.overflow) {
                    fprintf(stderr, "run params do not fit\n");
                    return 2;
                }
                printf(" R ");
                put_hex(enc, b.len);
            } else {
                printf(" X ");
                put_hex(err.msg, strlen(err.msg));
            }
        }
        putchar('\n');
        fflush(stdout); /* one answer per line: the fuzz test talks to us line by line */
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "msg") == 0) {
        return run_msg();
    }
    if (argc == 2 && strcmp(argv[1], "cmd") == 0) {
        return run_cmd();
    }
    fprintf(stderr, "usage: %s msg|cmd\n", argv[0]);
    return 2;
}
