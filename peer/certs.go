package peer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wsbench/wsbench/rundir"
)

// File names inside Config.CertDir.
const (
	CAFileName        = "ca.pem"
	CAKeyFileName     = "ca-key.pem"
	ServerFileName    = "server.pem"
	ServerKeyFileName = "server-key.pem"
)

// Certificate lifetimes and the margin below which a file is not reused.
const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 825 * 24 * time.Hour
	renewMargin    = 7 * 24 * time.Hour
)

// Certificate sources reported by CertSource.
const (
	CertGenerated = "generated" // new CA and server certificate
	CertReused    = "reused"    // CA and server certificate from CertDir
	CertReissued  = "reissued"  // existing CA, new server certificate
	CertUser      = "user"      // CertFile/KeyFile as given
)

// certBundle is the serving certificate and what is public about it.
type certBundle struct {
	cert    tls.Certificate
	leaf    *x509.Certificate
	caFile  string
	caPool  *x509.CertPool
	keyType string
	source  string
}

// fingerprint is the lowercase hex SHA-256 of the leaf certificate's DER.
func (b *certBundle) fingerprint() string {
	sum := sha256.Sum256(b.leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// sanSet is what the server certificate must name.
type sanSet struct {
	dns []string
	ips []net.IP
}

func (s *sanSet) add(v string) {
	if v == "" {
		return
	}
	if ip := net.ParseIP(v); ip != nil {
		for _, have := range s.ips {
			if have.Equal(ip) {
				return
			}
		}
		s.ips = append(s.ips, ip)
		return
	}
	if !slices.Contains(s.dns, strings.ToLower(v)) {
		s.dns = append(s.dns, strings.ToLower(v))
	}
}

func (s *sanSet) addLoopback() {
	s.add("localhost")
	s.add("127.0.0.1")
	s.add("::1")
}

// String lists the names, for messages.
func (s sanSet) String() string {
	var parts []string
	parts = append(parts, s.dns...)
	for _, ip := range s.ips {
		parts = append(parts, ip.String())
	}
	return strings.Join(parts, ",")
}

// covers reports whether c names every entry of s.
func (s sanSet) covers(c *x509.Certificate) bool {
	for _, d := range s.dns {
		if !slices.ContainsFunc(c.DNSNames, func(n string) bool { return strings.EqualFold(n, d) }) {
			return false
		}
	}
	for _, ip := range s.ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// isWildcard reports whether host listens on every interface.
func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// hostSANs is what a certificate for a server listening on host must name:
// the host itself (plus loopback names when it is loopback), or for a
// wildcard every interface address plus loopback names.
func hostSANs(host string, extra []string) (sanSet, error) {
	var s sanSet
	switch {
	case isWildcard(host):
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return s, fmt.Errorf("list interface addresses: %w", err)
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLinkLocalMulticast() {
				continue
			}
			s.add(ipn.IP.String())
		}
		s.addLoopback()
	default:
		s.add(host)
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
			s.addLoopback()
		}
	}
	for _, e := range extra {
		s.add(strings.TrimSpace(e))
	}
	return s, nil
}

// loadCerts returns the serving certificate for cfg (defaults applied):
// the user's files, or files in CertDir when valid and matching, or newly
// generated ones written to CertDir.
func loadCerts(cfg Config, sans sanSet, now time.Time) (*certBundle, error) {
	if cfg.CertFile != "" {
		return loadUserCert(cfg, now)
	}
	if err := os.MkdirAll(cfg.CertDir, 0o700); err != nil {
		return nil, fmt.Errorf("create cert dir %s: %w", cfg.CertDir, err)
	}
	caPath := filepath.Join(cfg.CertDir, CAFileName)
	caKeyPath := filepath.Join(cfg.CertDir, CAKeyFileName)
	if cfg.CAKeyFile != "" {
		caPath, caKeyPath = cfg.CAFile, cfg.CAKeyFile
	}
	srvPath := filepath.Join(cfg.CertDir, ServerFileName)
	srvKeyPath := filepath.Join(cfg.CertDir, ServerKeyFileName)

	ca, caKey, caErr := loadCA(caPath, caKeyPath, now)
	if caErr == nil && cfg.CAKeyFile == "" && keyTypeOf(ca.PublicKey) != cfg.KeyType {
		caErr = fmt.Errorf("CA key type %s, want %s", keyTypeOf(ca.PublicKey), cfg.KeyType)
	}
	if caErr != nil && cfg.CAKeyFile != "" {
		return nil, caErr // never replace a CA the user gave
	}
	source := CertReused
	if caErr != nil {
		if !errors.Is(caErr, fs.ErrNotExist) {
			cfg.Log.Warn("peer: replacing CA", "dir", cfg.CertDir, "reason", caErr.Error())
		}
		var err error
		ca, caKey, err = generateCA(cfg.KeyType, now)
		if err != nil {
			return nil, err
		}
		if err := writeKey(caKeyPath, caKey); err != nil {
			return nil, err
		}
		if err := writePEM(caPath, "CERTIFICATE", ca.Raw, 0o644); err != nil {
			return nil, err
		}
		source = CertGenerated
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	b, srvErr := loadServer(srvPath, srvKeyPath, pool, sans, cfg.KeyType, now)
	if srvErr != nil {
		if source == CertReused {
			source = CertReissued
			if !errors.Is(srvErr, fs.ErrNotExist) {
				cfg.Log.Info("peer: reissuing server certificate", "dir", cfg.CertDir, "reason", srvErr.Error())
			}
		}
		cert, key, err := generateServer(cfg.KeyType, ca, caKey, sans, now)
		if err != nil {
			return nil, err
		}
		if err := writeKey(srvKeyPath, key); err != nil {
			return nil, err
		}
		if err := writePEM(srvPath, "CERTIFICATE", cert.Raw, 0o644); err != nil {
			return nil, err
		}
		b = &certBundle{cert: tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, leaf: cert}
	}
	b.caFile, b.caPool, b.keyType, b.source = caPath, pool, keyTypeOf(b.leaf.PublicKey), source
	return b, nil
}

// loadUserCert serves CertFile/KeyFile as given.
func loadUserCert(cfg Config, now time.Time) (*certBundle, error) {
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load %s and %s: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse %s: %w", cfg.CertFile, err)
		}
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%s: valid %s to %s, not now", cfg.CertFile, leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly))
	}
	b := &certBundle{cert: cert, leaf: leaf, keyType: keyTypeOf(leaf.PublicKey), source: CertUser}
	if cfg.CAFile != "" {
		pool, err := loadPool(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		inter := x509.NewCertPool()
		for _, der := range cert.Certificate[1:] {
			if c, err := x509.ParseCertificate(der); err == nil {
				inter.AddCert(c)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now}); err != nil {
			return nil, fmt.Errorf("%s does not verify against %s: %w", cfg.CertFile, cfg.CAFile, err)
		}
		b.caFile, b.caPool = cfg.CAFile, pool
	}
	return b, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// loadCA reads a CA certificate and key and checks that they belong
// together, that the certificate is a CA and that it is valid for a while.
func loadCA(certPath, keyPath string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	cert, err := readCert(certPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("%s: not a CA certificate", certPath)
	}
	if err := checkValidity(certPath, cert, now); err != nil {
		return nil, nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, nil, fmt.Errorf("%s does not match %s", keyPath, certPath)
	}
	return cert, key, nil
}

// loadServer reads the server certificate and key and checks them against
// the CA pool, the wanted names and the key type.
func loadServer(certPath, keyPath string, pool *x509.CertPool, sans sanSet, keyType string, now time.Time) (*certBundle, error) {
	if err := fixKeyMode(keyPath); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", certPath, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", certPath, err)
	}
	cert.Leaf = leaf
	if err := checkValidity(certPath, leaf, now); err != nil {
		return nil, err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now}); err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	if kt := keyTypeOf(leaf.PublicKey); kt != keyType {
		return nil, fmt.Errorf("%s: key type %s, want %s", certPath, kt, keyType)
	}
	if !sans.covers(leaf) {
		return nil, fmt.Errorf("%s: names %v %v, need %s", certPath, leaf.DNSNames, leaf.IPAddresses, sans)
	}
	return &certBundle{cert: cert, leaf: leaf}, nil
}

func checkValidity(path string, c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) || now.Add(renewMargin).After(c.NotAfter) {
		return fmt.Errorf("%s: valid %s to %s, too close to now", path, c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly))
	}
	return nil
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return c, nil
}

// readKey reads a PKCS#8, SEC 1 or PKCS#1 private key. Errors never quote
// the file's content.
func readKey(path string) (crypto.Signer, error) {
	if err := fixKeyMode(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%s: PEM block %q is not a private key", path, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse key %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key type %T cannot sign", path, k)
	}
	return s, nil
}

// fixKeyMode makes an existing key file in a directory wsbench manages
// readable by its owner only.
func fixKeyMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("restrict %s to 0600: %w", path, err)
		}
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// keyTypeOf names a public key: "ecdsa-p256", "rsa-2048", "ed25519", ...
func keyTypeOf(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa-p" + strings.TrimPrefix(k.Curve.Params().Name, "P-")
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa-%d", k.N.BitLen())
	default:
		return strings.TrimPrefix(strings.ToLower(fmt.Sprintf("%T", pub)), "ed25519.")
	}
}

func newKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case KeyRSA2048:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return k, nil
	default:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ECDSA key: %w", err)
		}
		return k, nil
	}
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return n, nil
}

func generateCA(keyType string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(keyType)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"wsbench"}, CommonName: "wsbench test CA " + sn.Text(16)[:8]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return c, key, nil
}

func generateServer(keyType string, ca *x509.Certificate, caKey crypto.Signer, sans sanSet, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(keyType)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(serverLifetime)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	usage := x509.KeyUsageDigitalSignature
	if keyType == KeyRSA2048 {
		usage |= x509.KeyUsageKeyEncipherment
	}
	cn := "wsbench peer"
	if len(sans.dns) > 0 {
		cn = sans.dns[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"wsbench"}, CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     usage,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     sans.dns,
		IPAddresses:  sans.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create server certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse server certificate: %w", err)
	}
	return c, key, nil
}

// writeKey writes k as a PKCS#8 PEM file readable by its owner only.
func writeKey(path string, k crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("encode key for %s: %w", path, err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM writes one PEM block to path with mode perm, atomically: a
// temporary file created with perm, then renamed, so a key is never
// readable by others even for a moment.
func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	var buf bytes.Buffer
	if err := pem.Encode(&buf, &pem.Block{Type: typ, Bytes: der}); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return rundir.WriteFile(path, buf.Bytes(), perm)
}
