/*
 * Wi-Fi station. Credentials come from Kconfig or from the "wifi" console
 * command; they are never logged, echoed, or written to NVS (Wi-Fi storage is
 * RAM only, and the copies made here are wiped after use).
 */
#include <string.h>

#include "esp_check.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

/* QEMU images bring the network up over open_eth instead (wsbench_net_eth.c). */
#if !CONFIG_WSBENCH_NET_OPENETH

static const char *TAG = "wsb_net";

#define NET_UP_BIT BIT0

static EventGroupHandle_t s_net;
static bool s_have_credentials;

/* Runs in the default event loop task: only non-blocking calls here. */
static void on_wifi_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)data;
    if (base == WIFI_EVENT && id == WIFI_EVENT_STA_START && s_have_credentials) {
        esp_wifi_connect();
    } else if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED) {
        xEventGroupClearBits(s_net, NET_UP_BIT);
        if (s_have_credentials) {
            esp_wifi_connect(); /* asynchronous: returns at once */
        }
    } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
        const ip_event_got_ip_t *ev = (const ip_event_got_ip_t *)data;
        ESP_LOGI(TAG, "got IP " IPSTR, IP2STR(&ev->ip_info.ip));
        xEventGroupSetBits(s_net, NET_UP_BIT);
    }
}

static esp_err_t apply(const char *ssid, size_t ssid_len, const char *pass, size_t pass_len)
{
    wifi_config_t cfg = {0};
    ESP_RETURN_ON_FALSE(ssid_len > 0 && ssid_len <= sizeof(cfg.sta.ssid), ESP_ERR_INVALID_ARG, TAG,
                        "ssid must be 1-%u bytes", (unsigned)sizeof(cfg.sta.ssid));
    ESP_RETURN_ON_FALSE(pass_len < sizeof(cfg.sta.password), ESP_ERR_INVALID_ARG, TAG,
                        "password must be at most %u bytes", (unsigned)sizeof(cfg.sta.password) - 1);
    memcpy(cfg.sta.ssid, ssid, ssid_len);
    memcpy(cfg.sta.password, pass, pass_len);
    cfg.sta.threshold.authmode = pass_len > 0 ? WIFI_AUTH_WPA2_PSK : WIFI_AUTH_OPEN;
    esp_err_t err = esp_wifi_set_config(WIFI_IF_STA, &cfg);
    memset(&cfg, 0, sizeof(cfg));
    ESP_RETURN_ON_ERROR(err, TAG, "esp_wifi_set_config");
    s_have_credentials = true;
    xEventGroupClearBits(s_net, NET_UP_BIT);
    (void)esp_wifi_disconnect();
    return esp_wifi_connect();
}

esp_err_t wsb_net_init(void)
{
    s_net = xEventGroupCreate();
    ESP_RETURN_ON_FALSE(s_net, ESP_ERR_NO_MEM, TAG, "event group");
    /* The Wi-Fi library logs "I (t) wifi:connected with <SSID>, aid = ..."
     * at INFO under the tag "wifi" (see any station example's output); raw
     * console bytes are kept in results, so the SSID would be too. WARN keeps
     * its warnings and errors, which name no credentials. */
    esp_log_level_set("wifi", ESP_LOG_WARN);
    ESP_RETURN_ON_ERROR(esp_netif_init(), TAG, "esp_netif_init");
    ESP_RETURN_ON_FALSE(esp_netif_create_default_wifi_sta(), ESP_FAIL, TAG, "wifi sta netif");
    wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
    ESP_RETURN_ON_ERROR(esp_wifi_init(&init), TAG, "esp_wifi_init");
    ESP_RETURN_ON_ERROR(esp_wifi_set_storage(WIFI_STORAGE_RAM), TAG, "wifi storage");
    ESP_RETURN_ON_ERROR(esp_event_handler_instance_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_wifi_event, NULL, NULL),
                        TAG, "wifi events");
    ESP_RETURN_ON_ERROR(esp_event_handler_instance_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_wifi_event, NULL, NULL),
                        TAG, "ip events");
    ESP_RETURN_ON_ERROR(esp_wifi_set_mode(WIFI_MODE_STA), TAG, "wifi mode");
    ESP_RETURN_ON_ERROR(esp_wifi_start(), TAG, "esp_wifi_start");
    if (sizeof(CONFIG_WSBENCH_WIFI_SSID) > 1) {
        ESP_LOGI(TAG, "connecting with the credentials from Kconfig");
        return apply(CONFIG_WSBENCH_WIFI_SSID, strlen(CONFIG_WSBENCH_WIFI_SSID), CONFIG_WSBENCH_WIFI_PASSWORD,
                     strlen(CONFIG_WSBENCH_WIFI_PASSWORD));
    }
    ESP_LOGI(TAG, "no Wi-Fi credentials: send \"wifi ssid=... pass=...\"");
    return ESP_OK;
}

esp_err_t wsb_net_set_credentials(wsb_str_t ssid, wsb_str_t pass)
{
    ESP_LOGI(TAG, "connecting with the credentials from the console");
    return apply(ssid.ptr, ssid.len, pass.ptr, pass.len);
}

bool wsb_net_wait_up(uint32_t timeout_ms)
{
    return (xEventGroupWaitBits(s_net, NET_UP_BIT, pdFALSE, pdTRUE, pdMS_TO_TICKS(timeout_ms)) & NET_UP_BIT) != 0;
}

#endif /* !CONFIG_WSBENCH_NET_OPENETH */
