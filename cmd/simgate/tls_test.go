package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestSelfSignedCertificateIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	cfg, err := tlsConfig("", "", true, dir, []string{"shop.example", "192.0.2.10"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "shop.example", "192.0.2.10"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate not valid for %s: %v", host, err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "tls", "key.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	again, err := tlsConfig("", "", true, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Certificates[0].Certificate[0]) != string(cfg.Certificates[0].Certificate[0]) {
		t.Error("a second start made a new certificate; the browser's trust would be lost")
	}
}

func TestTLSFlags(t *testing.T) {
	if cfg, err := tlsConfig("", "", false, t.TempDir(), nil); cfg != nil || err != nil {
		t.Errorf("no TLS asked: got %v, %v", cfg, err)
	}
	if _, err := tlsConfig("cert.pem", "", false, t.TempDir(), nil); err == nil {
		t.Error("a certificate without a key was accepted")
	}
	if _, err := tlsConfig("/nonexistent/cert.pem", "/nonexistent/key.pem", false, t.TempDir(), nil); err == nil {
		t.Error("missing files were accepted")
	}
}
