/*
 * Network for Espressif's QEMU: the emulated OpenCores Ethernet MAC (open_eth)
 * on QEMU's user networking, configured by DHCP (the guest gets 10.0.2.15; the
 * host's loopback is 10.0.2.2). Chosen by CONFIG_WSBENCH_NET_OPENETH, which
 * sdkconfig.defaults.qemu sets for every qemu board; chips use Wi-Fi
 * (wsbench_net.c). The calls follow ESP-IDF's protocol_examples_common
 * (eth_connect.c, CONFIG_EXAMPLE_USE_OPENETH). ESP-IDF's openeth driver runs on
 * the emulated ESP32 from v5.1 and on the ESP32-S3 from v5.5.1 (docs/qemu.md).
 */
#include "sdkconfig.h"

#if CONFIG_WSBENCH_NET_OPENETH

#if !CONFIG_ETH_USE_OPENETH
#error "CONFIG_WSBENCH_NET_OPENETH needs CONFIG_ETH_USE_OPENETH=y (sdkconfig.defaults.qemu sets it; ESP-IDF >= 5.5.1 for esp32s3)"
#endif

#include "esp_check.h"
#include "esp_eth.h"
#include "esp_eth_netif_glue.h"
#include "esp_eth_phy.h"
#if __has_include("esp_eth_mac_openeth.h")
#include "esp_eth_mac_openeth.h" /* its own header in newer ESP-IDF; inside esp_eth_mac.h before */
#endif
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "wsbench_app.h"

static const char *TAG = "wsb_net";

#define NET_UP_BIT BIT0

static EventGroupHandle_t s_net;

/* Runs in the default event loop task: only non-blocking calls here. */
static void on_net_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    if (base == ETH_EVENT && id == ETHERNET_EVENT_DISCONNECTED) {
        xEventGroupClearBits(s_net, NET_UP_BIT);
    } else if (base == IP_EVENT && id == IP_EVENT_ETH_GOT_IP) {
        const ip_event_got_ip_t *ev = (const ip_event_got_ip_t *)data;
        ESP_LOGI(TAG, "open_eth got IP " IPSTR " gateway " IPSTR, IP2STR(&ev->ip_info.ip), IP2STR(&ev->ip_info.gw));
        xEventGroupSetBits(s_net, NET_UP_BIT);
    }
}

esp_err_t wsb_net_init(void)
{
    s_net = xEventGroupCreate();
    ESP_RETURN_ON_FALSE(s_net, ESP_ERR_NO_MEM, TAG, "event group");
    ESP_RETURN_ON_ERROR(esp_netif_init(), TAG, "esp_netif_init");

    esp_netif_config_t netif_cfg = ESP_NETIF_DEFAULT_ETH();
    esp_netif_t *netif = esp_netif_new(&netif_cfg);
    ESP_RETURN_ON_FALSE(netif, ESP_FAIL, TAG, "eth netif");

    eth_mac_config_t mac_cfg = ETH_MAC_DEFAULT_CONFIG();
    eth_phy_config_t phy_cfg = ETH_PHY_DEFAULT_CONFIG();
    /* QEMU's PHY answers at once: do not spend seconds in auto-negotiation,
     * and it has no reset line (the default config pulses GPIO 5). */
    phy_cfg.autonego_timeout_ms = 100;
    phy_cfg.reset_gpio_num = -1;
    esp_eth_mac_t *mac = esp_eth_mac_new_openeth(&mac_cfg);
    ESP_RETURN_ON_FALSE(mac, ESP_FAIL, TAG, "open_eth MAC (is this QEMU with -nic user,model=open_eth?)");
    /* open_eth in QEMU emulates a DP83848-compatible PHY. */
    esp_eth_phy_t *phy = esp_eth_phy_new_dp83848(&phy_cfg);
    ESP_RETURN_ON_FALSE(phy, ESP_FAIL, TAG, "DP83848 PHY");

    esp_eth_config_t eth_cfg = ETH_DEFAULT_CONFIG(mac, phy);
    esp_eth_handle_t eth = NULL;
    ESP_RETURN_ON_ERROR(esp_eth_driver_install(&eth_cfg, &eth), TAG, "esp_eth_driver_install");
    ESP_RETURN_ON_ERROR(esp_netif_attach(netif, esp_eth_new_netif_glue(eth)), TAG, "esp_netif_attach");
    ESP_RETURN_ON_ERROR(esp_event_handler_instance_register(ETH_EVENT, ETHERNET_EVENT_DISCONNECTED, on_net_event, NULL, NULL),
                        TAG, "eth events");
    ESP_RETURN_ON_ERROR(esp_event_handler_instance_register(IP_EVENT, IP_EVENT_ETH_GOT_IP, on_net_event, NULL, NULL),
                        TAG, "ip events");
    ESP_RETURN_ON_ERROR(esp_eth_start(eth), TAG, "esp_eth_start");
    ESP_LOGI(TAG, "open_eth started (QEMU user networking, DHCP)");
    return ESP_OK;
}

esp_err_t wsb_net_set_credentials(wsb_str_t ssid, wsb_str_t pass)
{
    (void)ssid;
    (void)pass;
    ESP_LOGW(TAG, "this image uses open_eth (QEMU), not Wi-Fi: credentials ignored");
    return ESP_ERR_NOT_SUPPORTED;
}

bool wsb_net_wait_up(uint32_t timeout_ms)
{
    return (xEventGroupWaitBits(s_net, NET_UP_BIT, pdFALSE, pdTRUE, pdMS_TO_TICKS(timeout_ms)) & NET_UP_BIT) != 0;
}

#endif /* CONFIG_WSBENCH_NET_OPENETH */
