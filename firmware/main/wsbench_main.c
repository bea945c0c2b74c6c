/*
 * wsbench benchmark firmware: streams heap samples of an app holding one
 * esp_websocket_client and N TLS sessions, as MessagePack frames on the
 * console, for the wsbench collector. See firmware/README.md.
 */
#include "esp_check.h"
#include "esp_event.h"
#include "esp_log.h"
#include "nvs_flash.h"
#include "sdkconfig.h"
#include "wsbench_app.h"

static const char *TAG = "wsbench";

#if CONFIG_WSBENCH_BEHAVIOUR_STRICT
#define BEHAVIOUR "strict"
#else
#define BEHAVIOUR "fallback"
#endif

static esp_err_t init_nvs(void)
{
    /* NVS holds PHY calibration data only: Wi-Fi credentials are never stored. */
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        ESP_RETURN_ON_ERROR(nvs_flash_erase(), TAG, "nvs_flash_erase");
        err = nvs_flash_init();
    }
    return err;
}

void app_main(void)
{
    ESP_LOGI(TAG, "wsbench firmware, variant %s, behaviour %s", CONFIG_WSBENCH_VARIANT, BEHAVIOUR);
    ESP_ERROR_CHECK(wsb_out_init());
    ESP_ERROR_CHECK(wsb_sampler_start());
    ESP_ERROR_CHECK(wsb_scenario_init());
    /* Hello first: the host learns what runs here even if the network never comes up. */
    wsb_send_hello();
    ESP_ERROR_CHECK(init_nvs());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    ESP_ERROR_CHECK(wsb_net_init());
    ESP_ERROR_CHECK(wsb_console_start());
    ESP_LOGI(TAG, "ready: commands hello, run, stop, reset, owners, wifi");
}
