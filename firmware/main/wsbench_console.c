/*
 * Console commands: one line each, parsed by wsbench_wire (the grammar of
 * wire/command.go), answered with a Reply frame. Replies and errors read as
 * the virtual board's (sim/board.go): a malformed line gets
 * "parse command: column N: ...".
 *
 * The "wifi" command carries credentials: they are handed to the network
 * module and then wiped from the line buffer and the parsed command; nothing
 * of them is logged or echoed.
 */
#include <stdio.h>
#include <string.h>

#include "esp_check.h"
#include "esp_log.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

static const char *TAG = "wsb_console";

#define CONSOLE_STACK 4096
#define CONSOLE_PRIO 6

/* Reply names are the command's name, cut so that a Reply always fits. */
#define REPLY_NAME_MAX 32

static char s_line[WSB_MAX_COMMAND_LINE + 2];
static size_t s_len;
static bool s_overflow; /* the current line is longer than the buffer */
static wsb_command_t s_cmd;
static char s_err[WSB_ERR_MSG_MAX + 32];

static wsb_str_t reply_name(wsb_str_t name)
{
    if (name.len > REPLY_NAME_MAX) {
        name.len = REPLY_NAME_MAX;
    }
    return name;
}

static void wipe(void)
{
    /* volatile writes: the compiler may not drop them */
    volatile char *p = s_line;
    for (size_t i = 0; i < sizeof(s_line); i++) {
        p[i] = 0;
    }
    volatile char *q = s_cmd.store;
    for (size_t i = 0; i < sizeof(s_cmd.store); i++) {
        q[i] = 0;
    }
}

static void dispatch(const char *line, size_t len)
{
    wsb_cmd_error_t perr;
    if (!wsb_parse_command(line, len, &s_cmd, &perr)) {
        strcpy(s_err, "parse command: ");
        if (wsb_str_eq(s_cmd.name, WSB_CMD_WIFI)) {
            /* The parser's text may quote bytes of the password: say less. */
            snprintf(s_err + strlen(s_err), sizeof(s_err) - strlen(s_err),
                     "column %d: malformed wifi command (values are not shown)", perr.col);
            wipe();
        } else {
            strncat(s_err, perr.msg, sizeof(s_err) - strlen(s_err) - 1);
        }
        wsb_send_reply(reply_name(s_cmd.name), s_err);
        return;
    }
    wsb_str_t name = s_cmd.name;
    const char *err = NULL;
    if (wsb_str_eq(name, WSB_CMD_HELLO)) {
        wsb_send_reply(name, NULL);
        wsb_send_hello();
    } else if (wsb_str_eq(name, WSB_CMD_RUN)) {
        wsb_run_params_t p;
        if (!wsb_parse_run_params(&s_cmd, &p, &perr)) {
            wsb_send_reply(name, perr.msg);
            return;
        }
        err = wsb_scenario_start(&p); /* sends the Reply itself when it starts */
        if (err) {
            wsb_send_reply(name, err);
        }
    } else if (wsb_str_eq(name, WSB_CMD_STOP)) {
        wsb_send_reply(name, wsb_scenario_stop());
    } else if (wsb_str_eq(name, WSB_CMD_RESET)) {
        wsb_send_reply(name, NULL);
        ESP_LOGI(TAG, "restarting on request");
        wsb_out_flush(200); /* the Reply must leave before the reset */
        esp_restart();
    } else if (wsb_str_eq(name, WSB_CMD_OWNERS)) {
        wsb_send_reply(name, NULL);
        wsb_send_owners(wsb_sampler_force(), wsb_sampler_phase());
    } else if (wsb_str_eq(name, WSB_CMD_WIFI)) {
        wsb_str_t ssid = {0}, pass = {0};
        if (!wsb_command_get(&s_cmd, "ssid", &ssid)) {
            err = "wifi: want ssid=... and pass=...";
        } else {
            (void)wsb_command_get(&s_cmd, "pass", &pass);
            esp_err_t e = wsb_net_set_credentials(ssid, pass);
            if (e != ESP_OK) {
                err = e == ESP_ERR_INVALID_ARG ? "wifi: ssid 1-32 bytes, pass at most 63 bytes" : "wifi: connect failed";
            }
        }
        wipe();
        wsb_send_reply(wsb_cstr(WSB_CMD_WIFI), err);
    } else if (wsb_str_eq(name, WSB_CMD_FAULT)) {
        wsb_send_reply(name, "fault: faults exist only on the virtual board");
    } else {
        strcpy(s_err, "unknown command \"");
        strncat(s_err, name.ptr, name.len < 64 ? name.len : 64);
        strcat(s_err, "\"");
        wsb_send_reply(reply_name(name), s_err);
    }
}

static bool blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            return false;
        }
    }
    return true;
}

static void console_task(void *arg)
{
    (void)arg;
    uint8_t buf[64];
    for (;;) {
        int n = wsb_out_read(buf, sizeof(buf), 1000);
        for (int i = 0; i < n; i++) {
            char c = (char)buf[i];
            if (c != '\n') {
                if (s_len < sizeof(s_line)) {
                    s_line[s_len++] = c;
                } else {
                    s_overflow = true; /* keep the line's length beyond the limit known */
                }
                continue;
            }
            if (s_overflow) {
                /* The parser reports the column after the limit. */
                s_line[sizeof(s_line) - 1] = 'x';
                dispatch(s_line, sizeof(s_line));
            } else if (!blank(s_line, s_len)) {
                dispatch(s_line, s_len);
            }
            s_len = 0;
            s_overflow = false;
        }
    }
}

esp_err_t wsb_console_start(void)
{
    BaseType_t ok = xTaskCreate(console_task, "wsb_console", CONSOLE_STACK, NULL, CONSOLE_PRIO, NULL);
    ESP_RETURN_ON_FALSE(ok == pdPASS, ESP_ERR_NO_MEM, TAG, "console task");
    return ESP_OK;
}
