package peer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGeneratedCertificatesVerify(t *testing.T) {
	tests := []struct {
		keyType string
		algo    x509.PublicKeyAlgorithm
	}{
		{"", x509.ECDSA},
		{KeyECDSAP256, x509.ECDSA},
		{KeyRSA2048, x509.RSA},
	}
	for _, tc := range tests {
		t.Run("key "+tc.keyType, func(t *testing.T) {
			dir := t.TempDir()
			s := startPeer(t, Config{CertDir: dir, KeyType: tc.keyType, ExtraSANs: []string{"board-peer.local"}})
			if s.CertSource() != CertGenerated {
				t.Errorf("source %q, want %q", s.CertSource(), CertGenerated)
			}
			leaf := s.Certificate()
			if leaf.PublicKeyAlgorithm != tc.algo {
				t.Errorf("key algorithm %v, want %v", leaf.PublicKeyAlgorithm, tc.algo)
			}
			want := tc.keyType
			if want == "" {
				want = KeyECDSAP256
			}
			if got := s.Info().CertKeyType; got != want {
				t.Errorf("Info key type %q, want %q", got, want)
			}
			for _, name := range []string{"localhost", "127.0.0.1", "::1", "board-peer.local"} {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.CAPool(), DNSName: name}); err != nil {
					t.Errorf("verify for %s: %v", name, err)
				}
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.CAPool(), DNSName: "10.1.2.3"}); err == nil {
				t.Error("certificate verifies for an address it must not name")
			}
			// The CA file is what a firmware build embeds: it alone must verify.
			pool, err := loadPool(s.CAFile())
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(s.HTTPSURL())
			conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
			if err != nil {
				t.Fatalf("TLS with the CA file: %v", err)
			}
			seen := conn.ConnectionState().PeerCertificates[0]
			conn.Close()
			sum := sha256.Sum256(seen.Raw)
			if got := s.Info().CertSHA256; got != hex.EncodeToString(sum[:]) {
				t.Errorf("Info fingerprint %s, served certificate %x", got, sum)
			}
			for name, mode := range map[string]os.FileMode{CAFileName: 0o644, ServerFileName: 0o644, CAKeyFileName: 0o600, ServerKeyFileName: 0o600} {
				st, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s mode %v, want %v", name, st.Mode().Perm(), mode)
				}
			}
		})
	}
}

func TestCertificateReuse(t *testing.T) {
	read := func(t *testing.T, path string) []byte {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	start := func(t *testing.T, cfg Config) *Server {
		t.Helper()
		s, err := Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return s
	}
	tests := []struct {
		name       string
		second     Config
		tamper     func(t *testing.T, dir string)
		wantSource string
		sameCA     bool
		sameCert   bool
	}{
		{"same config reuses both", Config{}, nil, CertReused, true, true},
		{"new name reissues the server certificate under the same CA", Config{ExtraSANs: []string{"other.local"}}, nil, CertReissued, true, false},
		{"another key type replaces the CA", Config{KeyType: KeyRSA2048}, nil, CertGenerated, false, false},
		{"corrupt CA is replaced", Config{}, func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, CAFileName), []byte("garbage"), 0o644)
		}, CertGenerated, false, false},
		{"server key of another certificate is replaced", Config{}, func(t *testing.T, dir string) {
			other := t.TempDir()
			start(t, Config{CertDir: other})
			os.WriteFile(filepath.Join(dir, ServerKeyFileName), read(t, filepath.Join(other, ServerKeyFileName)), 0o600)
		}, CertReissued, true, false},
		{"world-readable key is restricted and reused", Config{}, func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, ServerKeyFileName), 0o644)
		}, CertReused, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := start(t, Config{CertDir: dir})
			ca1 := read(t, filepath.Join(dir, CAFileName))
			if tc.tamper != nil {
				tc.tamper(t, dir)
			}
			tc.second.CertDir = dir
			second := start(t, tc.second)
			if second.CertSource() != tc.wantSource {
				t.Errorf("source %q, want %q", second.CertSource(), tc.wantSource)
			}
			if same := bytes.Equal(ca1, read(t, filepath.Join(dir, CAFileName))); same != tc.sameCA {
				t.Errorf("CA kept: %v, want %v", same, tc.sameCA)
			}
			if same := first.Info().CertSHA256 == second.Info().CertSHA256; same != tc.sameCert {
				t.Errorf("server certificate kept: %v, want %v", same, tc.sameCert)
			}
			for _, k := range []string{CAKeyFileName, ServerKeyFileName} {
				if st, err := os.Stat(filepath.Join(dir, k)); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v", k, err, st.Mode().Perm())
				}
			}
		})
	}
}

func TestUserSuppliedCertificates(t *testing.T) {
	gen := t.TempDir()
	s, err := Start(context.Background(), Config{CertDir: gen, KeyType: KeyRSA2048})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	caFile, caKey := filepath.Join(gen, CAFileName), filepath.Join(gen, CAKeyFileName)
	certFile, keyFile := filepath.Join(gen, ServerFileName), filepath.Join(gen, ServerKeyFileName)

	t.Run("certificate and key served as given", func(t *testing.T) {
		u := startPeer(t, Config{CertFile: certFile, KeyFile: keyFile, CAFile: caFile})
		if u.CertSource() != CertUser || u.Info().CertSHA256 != s.Info().CertSHA256 || u.CAFile() != caFile || u.Info().CertKeyType != KeyRSA2048 {
			t.Errorf("source %s, info %+v", u.CertSource(), u.Info())
		}
		checkHandshake(t, u)
	})
	t.Run("user CA issues the server certificate", func(t *testing.T) {
		dir := t.TempDir()
		u := startPeer(t, Config{CertDir: dir, CAFile: caFile, CAKeyFile: caKey, KeyType: KeyRSA2048, ExtraSANs: []string{"x.local"}})
		if u.CAFile() != caFile || u.Info().CertSHA256 == s.Info().CertSHA256 {
			t.Errorf("CA %s, fingerprint %s", u.CAFile(), u.Info().CertSHA256)
		}
		if _, err := os.Stat(filepath.Join(dir, CAKeyFileName)); err == nil {
			t.Error("the user's CA key was copied into the cert dir")
		}
		checkHandshake(t, u)
	})
	t.Run("certificate that does not match its CA is an error", func(t *testing.T) {
		other := t.TempDir()
		o, err := Start(context.Background(), Config{CertDir: other})
		if err != nil {
			t.Fatal(err)
		}
		o.Close()
		_, err = Start(context.Background(), Config{CertFile: certFile, KeyFile: keyFile, CAFile: filepath.Join(other, CAFileName)})
		if err == nil || !strings.Contains(err.Error(), certFile) {
			t.Errorf("error %v, want one naming %s", err, certFile)
		}
	})
	t.Run("key of another certificate is an error", func(t *testing.T) {
		other := t.TempDir()
		o, _ := Start(context.Background(), Config{CertDir: other})
		o.Close()
		_, err := Start(context.Background(), Config{CertFile: certFile, KeyFile: filepath.Join(other, ServerKeyFileName)})
		if err == nil {
			t.Error("mismatched key accepted")
		}
	})
}

// checkHandshake completes one HTTPS request trusting only the server's CA.
func checkHandshake(t *testing.T, s *Server) {
	t.Helper()
	resp, err := client(t, clientTLS(s, 0, 0)).Get(s.HTTPSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestNoKeyMaterialInOutputs(t *testing.T) {
	dir := t.TempDir()
	s := startPeer(t, Config{CertDir: dir})
	checkHandshake(t, s)
	key, err := readKey(filepath.Join(dir, ServerKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, ServerKeyFileName))
	info, _ := json.Marshal(s.Info())
	snap, _ := json.Marshal(s.Counters())
	for name, out := range map[string][]byte{"Info": info, "Counters": snap} {
		if bytes.Contains(out, []byte("PRIVATE")) || bytes.Contains(out, keyPEM[30:60]) || bytes.Contains(out, []byte(hex.EncodeToString(der[len(der)-16:]))) {
			t.Errorf("%s carries key material: %s", name, out)
		}
	}
	if strings.Contains(s.Info().CAFile, "key") {
		t.Errorf("Info names a key file: %s", s.Info().CAFile)
	}
}

func TestHostSANs(t *testing.T) {
	tests := []struct {
		host    string
		want    []string
		notWant []string
	}{
		{"127.0.0.1", []string{"127.0.0.1", "::1", "localhost"}, nil},
		{"localhost", []string{"127.0.0.1", "::1", "localhost"}, nil},
		{"192.168.4.2", []string{"192.168.4.2"}, []string{"localhost"}},
		{"peer.example", []string{"peer.example"}, []string{"127.0.0.1"}},
		{"0.0.0.0", []string{"127.0.0.1", "::1", "localhost"}, nil},
		{"::", []string{"127.0.0.1", "::1", "localhost"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			s, err := hostSANs(tc.host, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := "," + s.String() + ","
			for _, w := range tc.want {
				if !strings.Contains(got, ","+w+",") {
					t.Errorf("SANs %s lack %s", got, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, ","+w+",") {
					t.Errorf("SANs %s name %s", got, w)
				}
			}
		})
	}
	// A wildcard names every interface address (link-local ones aside).
	s, _ := hostSANs("0.0.0.0", nil)
	ipv4 := firstIPv4()
	if !strings.Contains(","+s.String()+",", ","+ipv4+",") {
		t.Errorf("wildcard SANs %s lack interface address %s", s, ipv4)
	}
}

func TestExpiredFilesAreNotReused(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Config{CertDir: dir}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	sans, _ := hostSANs(cfg.Host, nil)
	old := time.Now().Add(-10 * 365 * 24 * time.Hour)
	if _, err := loadCerts(cfg, sans, old); err != nil {
		t.Fatal(err)
	}
	b, err := loadCerts(cfg, sans, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.source != CertGenerated {
		t.Errorf("expired CA gave source %q, want %q", b.source, CertGenerated)
	}
}
