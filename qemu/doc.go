// Package qemu runs Espressif's QEMU (qemu-system-xtensa, the esp-develop
// line of espressif/qemu) as a board: it finds the emulator, builds its
// command line for an ESP32-S3 or ESP32 with PSRAM, a flash image and an
// emulated Ethernet NIC (open_eth on QEMU's user networking), starts one
// instance per board with the console UART on a Unix socket the collector
// reads, and stops it.
//
// It is a package of its own because it drives a process that is neither
// ESP-IDF's build (package idf makes the flash image it boots) nor a board
// stream (package collector captures the socket). It knows nothing of
// matrices, wire frames or figures.
//
// Guest networking is QEMU's user mode (slirp): the guest gets 10.0.2.15 by
// DHCP and reaches the host's loopback as GatewayIP, so a peer listening on
// 127.0.0.1 is dialled by the firmware as 10.0.2.2 and its certificate must
// name that address.
package qemu
