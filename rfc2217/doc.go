// Package rfc2217 is a client for remote serial ports that speak RFC 2217
// (Telnet Com Port Control Option), the protocol of ser2net, labgrid
// exporters and esptool's RFC 2217 server, addressed by pyserial-style URLs
// such as rfc2217://host:port?ign_set_control.
//
// A [Port] is an io.ReadWriteCloser: Read returns the serial bytes with the
// telnet layer (IAC escaping, option negotiation, subnegotiations) removed,
// Write escapes the bytes it is given. Baud rate, frame format and the DTR/RTS
// control lines are set with methods that wait for the server's
// acknowledgement; [Port.ResetESP32] drives the ESP32 auto-reset circuit the
// way esptool does.
//
// A dropped TCP connection makes Read and Write fail with an error wrapping
// [ErrConnectionLost]; callers reconnect with [Dial] or an [Opener]. The
// package never reconnects, retries or sleeps on its own behind the caller's
// back, never buffers without bound (the receive buffer is capped and pushes
// back on TCP), and never dials anything but the address in the URL.
//
// A ser2net 4.x (tested: 4.3.11, Debian 12) configuration exporting a board
// on port 4000 of a lab host:
//
//	connection: &board1
//	  accepter: telnet(rfc2217),tcp,4000
//	  enable: on
//	  options:
//	    kickolduser: true
//	  connector: serialdev,/dev/ttyUSB0,115200n81,local
//
// and the port is then rfc2217://labhost:4000. Behind a device that cannot
// drive the modem lines (a pseudo-terminal), ser2net leaves SET-CONTROL
// unanswered: add ?ign_set_control. esptool's own RFC 2217 server never
// answers SET-CONTROL either (see esp32.go).
package rfc2217
