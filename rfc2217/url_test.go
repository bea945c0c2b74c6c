package rfc2217

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string // substring of the error; "" for success
	}{
		{in: "rfc2217://localhost:2217", want: Target{Addr: "localhost:2217"}},
		{in: "RFC2217://10.0.0.5:4000/", want: Target{Addr: "10.0.0.5:4000"}},
		{in: "rfc2217://[::1]:2217", want: Target{Addr: "[::1]:2217"}},
		{in: "rfc2217://lab-host:2217?ign_set_control", want: Target{Addr: "lab-host:2217", IgnoreSetControlAck: true}},
		{in: "rfc2217://h:1?ign_set_control&timeout=0.5&poll_modem&logging=debug",
			want: Target{Addr: "h:1", IgnoreSetControlAck: true, Timeout: 500 * time.Millisecond}},
		{in: "rfc2217://h:2217?bogus", wantErr: `unknown option "bogus"`},
		{in: "rfc2217://h:2217?timeout=soon", wantErr: "option timeout"},
		{in: "rfc2217://h:2217?timeout=-1", wantErr: "option timeout"},
		{in: "rfc2217://h:2217?logging=loud", wantErr: "option logging"},
		{in: "rfc2217://h", wantErr: "missing host or port"},
		{in: "rfc2217://:2217", wantErr: "missing host or port"},
		{in: "rfc2217://h:0", wantErr: "not in 1..65535"},
		{in: "rfc2217://h:70000", wantErr: "not in 1..65535"},
		{in: "rfc2217://h:2217/dev/ttyUSB0", wantErr: "unexpected user, path or fragment"},
		{in: "socket://h:2217", wantErr: "scheme"},
		{in: "/dev/ttyUSB0", wantErr: "scheme"},
		{in: "rfc2217://h:22%zz", wantErr: "rfc2217 url"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURL(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseURL(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestIsURL(t *testing.T) {
	for in, want := range map[string]bool{
		"rfc2217://h:1": true, "RFC2217://h:1": true, "/dev/ttyUSB0": false,
		"rfc2217://": false, "COM3": false, "socket://h:1": false,
	} {
		if got := IsURL(in); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", in, got, want)
		}
	}
}
